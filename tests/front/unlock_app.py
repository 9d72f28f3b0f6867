from django.apps import AppConfig


class UnlockPurchases(AppConfig):
    """Installed by tests/front/settings_unlocked.py only: the negative control's app nodes."""

    name = "tests.front"
    label = "kaika_test_unlock_purchases"

    def ready(self):
        from tests.purchases.unlocked import unlock

        unlock()
