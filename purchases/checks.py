"""Deploy checks of the payment provider's settings (the settings themselves refuse to load
without the Stripe keys)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_stripe_api_is_reached_over_https(app_configs, **kwargs):
    # The secret key travels in every request's Authorization header.
    if not settings.KAIKA_STRIPE or settings.STRIPE_API_BASE.startswith("https://"):
        return []
    return [
        checks.Error(
            f"STRIPE_API_BASE is {settings.STRIPE_API_BASE}: the secret key would travel "
            "unencrypted.",
            hint="Leave STRIPE_API_BASE unset (https://api.stripe.com); only the tests point "
            "it at their stand-in on loopback.",
            id="purchases.E002",
        )
    ]
