from django.urls import path

from settlements import views

app_name = "settlements"

urlpatterns = [
    # Shop operators: private, under the shop's management pages, scoped by operated_shop.
    path("shops/manage/<int:shop_id>/payee/", views.payee_detail, name="payee_detail"),
    path("shops/manage/<int:shop_id>/payee/edit/", views.payee_edit, name="payee_edit"),
    path("shops/manage/<int:shop_id>/statements/", views.statement_list, name="statement_list"),
    path(
        "shops/manage/<int:shop_id>/statements/<int:statement_id>/",
        views.statement_detail,
        name="statement_detail",
    ),
    path(
        "shops/manage/<int:shop_id>/statements/<int:statement_id>/print/",
        views.statement_print,
        name="statement_print",
    ),
    path(
        "shops/manage/<int:shop_id>/statements/<int:statement_id>/download/<str:nonce>/",
        views.statement_csv,
        name="statement_csv",
    ),
]
