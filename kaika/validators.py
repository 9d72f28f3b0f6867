import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Tab and newlines are allowed; PostgreSQL refuses NUL in text, and the rest are never wanted.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def reject_control_characters(value: str) -> None:
    if CONTROL_RE.search(value or ""):
        raise ValidationError(_("使用できない制御文字が含まれています。"), code="control")
