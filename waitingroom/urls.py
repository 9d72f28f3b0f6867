from django.urls import path

from waitingroom import views

app_name = "waitingroom"

urlpatterns = [
    path("rounds/<int:round_id>/waiting/", views.wait, name="wait"),
]
