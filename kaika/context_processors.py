from django.conf import settings


def site(request):
    return {
        "site_name": "kaika",
        # Templates show personal bits (messages, the account menu) only on private pages.
        "is_public_page": getattr(request, "kaika_public_max_age", None) is not None,
        "debug": settings.DEBUG,
    }
