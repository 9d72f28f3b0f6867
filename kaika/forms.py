from django.core.exceptions import ValidationError

from kaika.validators import reject_control_characters


class RejectControlCharactersMixin:
    """Every text field of the form refuses control characters (tab and newlines excepted),
    with a message on the field: they are never stored."""

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, str):
                try:
                    reject_control_characters(value)
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned
