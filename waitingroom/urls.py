from django.urls import path

from waitingroom import views

app_name = "waitingroom"

urlpatterns = [
    path("rounds/<int:round_id>/waiting/", views.wait, name="wait"),
    # The public line the page's script reads, and the pre-queue's drawn order by place name.
    path("rounds/<int:round_id>/waiting/line/", views.line, name="line"),
    path("rounds/<int:round_id>/waiting/line/<str:part>/", views.places, name="places"),
]
