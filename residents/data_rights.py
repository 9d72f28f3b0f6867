from kaika.data_rights import iso
from residents.models import ResidentCode


def export(user) -> dict:
    held = ResidentCode.objects.filter(used_by=user).select_related("project").order_by("pk")
    return {
        "resident_codes": [
            {
                "project": code.project.name,
                "code_ends_with": code.hint,
                "registered_at": iso(code.used_at),
                "revoked_at": iso(code.revoked_at),
            }
            for code in held
        ]
    }


def erase(user) -> None:
    # The code stays used (used_at kept: a code is entered once); only the person is detached.
    ResidentCode.objects.filter(used_by=user).update(used_by=None)
