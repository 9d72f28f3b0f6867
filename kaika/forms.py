from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from supporters.validators import CONTROL_RE


class RejectControlCharactersMixin:
    """Every text field of the form refuses control characters (tab and newlines excepted),
    with a message on the field: they are never stored, and never reach PostgreSQL (which
    refuses NUL in text with an error)."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and CONTROL_RE.search(value):
                self.add_error(
                    name,
                    ValidationError(_("使用できない制御文字が含まれています。"), code="control"),
                )
        return cleaned
