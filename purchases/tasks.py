"""Work done after commit by the task worker (Django's tasks): a refund goes to its provider
outside the request or the webhook that owed it, so a slow provider holds up no one."""

from django.tasks import task
from django.utils import timezone


@task()
def refund_send(*, refund_id: int) -> None:
    # Imported here: purchases.payments imports the services, which enqueue this task.
    from purchases.payments import refund_send as send

    send(refund_id=refund_id, now=timezone.now())
