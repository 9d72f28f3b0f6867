from django.conf import settings


def site(request):
    return {
        "site_name": "kaika",
        # Templates show personal bits (messages, the account menu) only on private pages.
        "is_public_page": getattr(request, "kaika_public_max_age", None) is not None,
        "debug": settings.DEBUG,
        # The seller's details (the same for everyone): footer, 特定商取引法 page, receipts.
        "office": settings.KAIKA_OFFICE,
        "office_is_demo": settings.KAIKA_OFFICE_IS_DEMO,
    }
