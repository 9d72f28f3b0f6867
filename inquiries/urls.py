from django.urls import path, register_converter

from inquiries import views


class ReferenceConverter:
    # Exactly what services.new_reference makes; anything else is a 404 before any query.
    regex = "Q-[A-Z2-7]{8}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferenceConverter, "inquiry_ref")

app_name = "inquiries"

urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/sent/", views.contact_sent, name="contact_sent"),
    path("mypage/inquiries/", views.inquiry_list, name="inquiry_list"),
    path("mypage/inquiries/<inquiry_ref:reference>/", views.inquiry_detail, name="inquiry_detail"),
]
