from django import forms
from django.utils.translation import gettext_lazy as _

from projects.models import MAX_UNITS_PER_ORDER


class ApplicationForm(forms.Form):
    """Units wished per listing: one field per listing shown (`units_<listing id>`), 0 to drop
    a line. Which listings may be wished for, and every cap, is the service's to say."""

    def __init__(self, *args, listings, initial_units: dict[int, int], **kwargs):
        super().__init__(*args, **kwargs)
        self.listings = list(listings)
        for listing in self.listings:
            self.fields[f"units_{listing.pk}"] = forms.IntegerField(
                label=listing.display_title,
                min_value=0,
                max_value=MAX_UNITS_PER_ORDER,
                initial=initial_units.get(listing.pk, 0),
                error_messages={
                    "required": _("口数を入力してください(取りやめるときは0)。"),
                    "invalid": _("口数は整数で入力してください。"),
                },
            )

    def rows(self):
        return [(listing, self[f"units_{listing.pk}"]) for listing in self.listings]

    def wishes(self) -> dict[int, int]:
        return {listing.pk: self.cleaned_data[f"units_{listing.pk}"] for listing in self.listings}
