from django.urls import path

from supporters import views

app_name = "supporters"

urlpatterns = [
    path("", views.mypage, name="mypage"),
    path("profile/", views.profile_edit, name="profile_edit"),
]
