"""Makers for the residents tests: codes imported as staff import them."""

import itertools

from django.utils import timezone

from residents.services import codes_import, codes_read
from tests.conftest import make_user

_serial = itertools.count(1)


def new_code() -> str:
    """A well-formed code no other test uses (10 characters, as a municipality would mail)."""
    return f"RC{next(_serial):08d}"


def import_codes(project, *typed: str, staff=None):
    report = codes_read("\n".join(typed))
    assert report.ok, report
    staff = staff or make_user(email=f"importer{next(_serial)}@example.jp", is_staff=True)
    return codes_import(
        project=project, report=report, file_name="codes.csv", staff=staff, now=timezone.now()
    )
