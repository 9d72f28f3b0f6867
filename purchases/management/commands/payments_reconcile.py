import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from purchases.payments import get_gateway
from purchases.reconcile import payments_reconcile


class Command(BaseCommand):
    help = (
        "Compare orders with the payment provider's record since DATE: apply the notices that "
        "never arrived, mend payments that match no paid order (tickets if the order can still "
        "take the payment, a refund otherwise), list paid orders the provider has no payment "
        "for, and send refunds still owed. Prints what it did. Run daily (docs/deploy.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            required=True,
            help="YYYY-MM-DD (Asia/Tokyo): from the start of that day. Stripe keeps 30 days "
            "of events.",
        )

    def handle(self, *args, since, **options):
        try:
            day = datetime.date.fromisoformat(since)
        except ValueError:
            raise CommandError("--since takes a date: YYYY-MM-DD") from None
        start = timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
        gateway = get_gateway()
        report = payments_reconcile(gateway=gateway, since=start, now=timezone.now())
        write = self.stdout.write
        write(f"payments_reconcile: {gateway.name}, since {start.isoformat()}")
        for event in report.applied:
            order = event.order.code if event.order else "-"
            write(
                f"applied missed notice {event.event_id} ({event.type}) for {order}: "
                f"{event.outcome}{' ' + event.note if event.note else ''}"
            )
        for payment, what in report.mended:
            write(
                f"mended payment {payment.reference} ({payment.order_code}, "
                f"{payment.amount} yen): {what}"
            )
        for order in report.unpaid_orders:
            write(
                self.style.WARNING(
                    f"paid order without a payment at the provider: {order.code} "
                    f"({order.payment_reference}): look at it by hand"
                )
            )
        for refund in report.refunds_sent:
            write(
                f"sent owed refund of {refund.payment_reference} ({refund.amount} yen): "
                f"{refund.status}{' ' + refund.error if refund.error else ''}"
            )
        if report.clean:
            write("nothing to mend: every payment matches an order or a refund")
