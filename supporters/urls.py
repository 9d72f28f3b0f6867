from django.urls import path

from supporters import views

app_name = "supporters"

urlpatterns = [
    path("", views.mypage, name="mypage"),
    path("profile/", views.profile_edit, name="profile_edit"),
    path("data/", views.data_rights, name="data_rights"),
    # POST with a nonce of the browser's own (kaika/downloads.py); the old GET of
    # data/export.json, one URL for everyone, is gone.
    path("data/export/<str:nonce>/", views.data_export, name="data_export"),
    path("data/deleted/", views.account_deleted, name="account_deleted"),
]
