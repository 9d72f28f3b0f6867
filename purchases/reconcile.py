"""Reconciliation of kaika's orders with the provider's own record (`manage.py
payments_reconcile`): what a lost or refused webhook left unmatched is found and, where it is
safe, mended through the same services as a webhook. Nothing here decides a payment's fate
itself: payment_record's rules do."""

import dataclasses
import datetime

from purchases.models import Order, OrderStatus, PaymentEvent, PaymentEventOutcome, Refund
from purchases.payments import PaymentGateway, ProviderPayment, refunds_send_owed
from purchases.services import PaymentResult, PurchaseError, payment_notice_record, payment_record

# Sessions are listed from a day before `since`: a payment made since then may belong to a
# session opened the day before (Stripe keeps one open for up to 24 hours).
SESSION_LIFETIME = datetime.timedelta(days=1)
QUIET = {PaymentEventOutcome.UNCHANGED, PaymentEventOutcome.IGNORED, PaymentEventOutcome.RECORDED}


@dataclasses.dataclass
class Reconciliation:
    # Notices the provider kept that had never reached kaika, applied now (with what it did).
    applied: list[PaymentEvent] = dataclasses.field(default_factory=list)
    # Payments at the provider still without a paid order or a refund: mended now.
    mended: list[tuple[ProviderPayment, str]] = dataclasses.field(default_factory=list)
    # Paid orders whose payment the provider does not list: for staff to look at.
    unpaid_orders: list[Order] = dataclasses.field(default_factory=list)
    # Owed refunds sent now, with their new state.
    refunds_sent: list[Refund] = dataclasses.field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.applied or self.mended or self.unpaid_orders or self.refunds_sent)


def payments_reconcile(
    *, gateway: PaymentGateway, since: datetime.datetime, now: datetime.datetime
) -> Reconciliation:
    report = Reconciliation()
    # 1. Notices that never arrived (a lost webhook, an endpoint that was down): applied
    #    exactly as their delivery would have been; those already stored are skipped by id.
    for notice in gateway.missed_notices(since=since):
        if PaymentEvent.objects.filter(provider=notice.provider, event_id=notice.event_id).exists():
            continue
        event = payment_notice_record(notice=notice, now=now)
        if event is not None and event.outcome not in QUIET:
            report.applied.append(event)
    # 2. Payments still matching nothing (their notice is older than the provider keeps):
    #    recorded as if they had been paid just now. payment_record's rules then issue the
    #    tickets of an order that can still take it, and refund any other.
    payments = list(gateway.payments_since(since=since - SESSION_LIFETIME))
    for payment in payments:
        if _matched(gateway.name, payment.reference):
            continue
        result = PaymentResult(
            provider=gateway.name,
            order_code=payment.order_code,
            reference=payment.reference,
            amount=payment.amount,
            succeeded=True,
            at=now,
        )
        try:
            order = payment_record(result=result, now=now)
        except PurchaseError:
            report.mended.append((payment, "orphan_refunded"))
        else:
            report.mended.append((payment, order.recorded_as))
    # 3. Paid orders the provider has no payment for: never changed here (a person looks).
    references = {payment.reference for payment in payments}
    report.unpaid_orders = list(
        Order.objects.filter(
            status=OrderStatus.PAID, payment_provider=gateway.name, paid_at__gte=since
        ).exclude(payment_reference__in=references)
    )
    # 4. Refunds still owed (their provider was unreachable, or the task did not run).
    report.refunds_sent = refunds_send_owed(now=now)
    return report


def _matched(provider: str, reference: str) -> bool:
    return (
        Order.objects.filter(
            status=OrderStatus.PAID, payment_provider=provider, payment_reference=reference
        ).exists()
        or Refund.objects.filter(provider=provider, payment_reference=reference).exists()
    )
