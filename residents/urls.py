from django.urls import path

from residents import views

app_name = "residents"

urlpatterns = [
    path("mypage/resident-code/", views.code_enter, name="code_enter"),
]
