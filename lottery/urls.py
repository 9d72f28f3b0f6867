from django.urls import path

from lottery import views

app_name = "lottery"

urlpatterns = [
    path(
        "projects/<slug:slug>/rounds/<int:round_number>/lottery/",
        views.lottery_detail,
        name="detail",
    ),
    path(
        "projects/<slug:slug>/rounds/<int:round_number>/lottery/applications.json",
        views.lottery_applications,
        name="applications",
    ),
    # Like the order confirmation: the round (and a listing to add) come as GET parameters.
    path("mypage/lottery/apply/", views.application_edit, name="application_edit"),
    path("mypage/lottery/", views.my_applications, name="my_applications"),
]
