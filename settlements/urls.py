from django.urls import path

from settlements import views

app_name = "settlements"

urlpatterns = [
    # Shop operators: private, under the shop's management pages, scoped by operated_shop.
    path("shops/manage/<int:shop_id>/payee/", views.payee_detail, name="payee_detail"),
    path("shops/manage/<int:shop_id>/payee/edit/", views.payee_edit, name="payee_edit"),
]
