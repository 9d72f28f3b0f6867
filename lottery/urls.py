from django.urls import path

from lottery import views

app_name = "lottery"

urlpatterns = [
    path("projects/<slug:slug>/rounds/<int:number>/lottery/", views.lottery_detail, name="detail"),
    path(
        "projects/<slug:slug>/rounds/<int:number>/lottery/applications.json",
        views.lottery_applications,
        name="applications",
    ),
    path(
        "mypage/lottery/<slug:slug>/<int:number>/",
        views.application_edit,
        name="application_edit",
    ),
    path("mypage/lottery/", views.my_applications, name="my_applications"),
]
