"""Work done after commit by the task worker (Django's tasks): a refund goes to its provider
outside the request or the webhook that owed it, so a slow provider holds up no one."""

from django.tasks import task
from django.utils import timezone

from purchases import payments


@task()
def refund_send(*, refund_id: int) -> None:
    # purchases.apps hands `refund_send.enqueue` to the services that owe refunds.
    payments.refund_send(refund_id=refund_id, now=timezone.now())
