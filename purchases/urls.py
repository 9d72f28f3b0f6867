from django.urls import path, register_converter

from purchases import views


class OrderCodeConverter:
    # Exactly what models.new_order_code makes; anything else is a 404 before any query.
    regex = "K-[23456789A-HJKMNP-Z]{26}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class TicketCodeConverter(OrderCodeConverter):
    regex = "T-[23456789A-HJKMNP-Z]{28}"


register_converter(OrderCodeConverter, "order_code")
register_converter(TicketCodeConverter, "ticket_code")

app_name = "purchases"

urlpatterns = [
    # The "back this shop" form on the public shop page is a plain GET to here.
    path("orders/confirm/", views.order_confirm, name="order_confirm"),
    path("orders/payment/return/", views.payment_return, name="payment_return"),
    path("orders/<order_code:order_code>/pay/", views.order_pay, name="order_pay"),
    path("mypage/orders/", views.order_list, name="order_list"),
    path("mypage/orders/<order_code:order_code>/", views.order_detail, name="order_detail"),
    # The provider's way back after a payment: "confirming" until its webhook has landed.
    path(
        "mypage/orders/<order_code:order_code>/payment/",
        views.order_payment_status,
        name="order_payment_status",
    ),
    path("mypage/orders/<order_code:order_code>/receipt/", views.order_receipt, name="receipt"),
    path(
        "mypage/orders/<order_code:order_code>/cancel/",
        views.order_cancel_view,
        name="order_cancel",
    ),
    path("mypage/tickets/", views.ticket_list, name="ticket_list"),
    path("mypage/tickets/<ticket_code:ticket_code>/", views.ticket_detail, name="ticket_detail"),
    path("shops/manage/<int:shop_id>/redeem/", views.manage_redeem, name="manage_redeem"),
    path(
        "shops/manage/<int:shop_id>/redeem/log/",
        views.manage_redeem_log,
        name="manage_redeem_log",
    ),
    path(
        "shops/manage/<int:shop_id>/redeem/log/<int:redemption_id>/undo/",
        views.manage_redeem_undo,
        name="manage_redeem_undo",
    ),
]
