"""Codes mailed to households: what residents type, the staff import, entering a code, and
who may back a residents-only project."""

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from kaika import data_rights
from kaika import ratelimit as ratelimit_module
from residents import codes
from residents.models import ResidentCode, ResidentImport
from residents.services import (
    ImportFileError,
    ResidentCodeError,
    codes_read,
    decode_csv,
    projects_closed_to,
    resident_code_redeem,
    resident_code_revoke,
)
from tests.conftest import make_user
from tests.projects.factories import make_project
from tests.residents.helpers import import_codes

pytestmark = pytest.mark.django_db
IP = "192.0.2.1"


def redeem(user, typed, ip=IP):
    return resident_code_redeem(supporter=user, typed=typed, client_ip=ip, now=timezone.now())


def refusal(user, typed, ip=IP) -> str:
    with pytest.raises(ResidentCodeError) as caught:
        redeem(user, typed, ip)
    return caught.value.code


# --- What residents type -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "AB12-CD34-EF",
        "ab12cd34ef",
        "ＡＢ１２－ＣＤ３４－ＥＦ",
        " ab12 cd34 ef ",
        "AB12ーCD34ーEF",
        "ab12‐cd34—ef",
    ],
)
def test_what_residents_type_is_normalised_to_one_code(typed):
    assert codes.normalize(typed) == "AB12CD34EF"
    assert codes.is_well_formed(codes.normalize(typed))


@pytest.mark.parametrize("typed", ["", "AB12", "AB12CD3!", "あいうえおかきく", "A" * 33])
def test_malformed_codes_are_told_apart_before_any_lookup(typed):
    assert not codes.is_well_formed(codes.normalize(typed))


def test_a_code_is_stored_only_as_a_keyed_hash_and_a_short_hint():
    project = make_project(residents_only=True)
    import_codes(project, "KAIKA-2026-XYZ9")
    stored = ResidentCode.objects.get()
    assert stored.hint == "YZ9"
    assert "KAIKA2026XYZ9" not in str(ResidentCode.objects.values().get())
    # Keyed: the hash differs under another key, so a database copy alone is no use.
    assert stored.digest == codes.digest("KAIKA2026XYZ9")
    assert stored.digest != codes.digest("KAIKA2026XYZ9", secret="another-key")


def test_a_code_imported_before_a_key_rotation_still_works(settings):
    project = make_project(residents_only=True)
    import_codes(project, "ROTATE-0001")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-0123456789"
    assert redeem(make_user(), "rotate0001").project == project


# --- The staff import ----------------------------------------------------------------------


def test_a_file_with_a_header_names_its_code_column_and_other_columns_are_ignored():
    report = codes_read("世帯番号,参加コード,氏名\n1,AAAA-1111,山田\n2,aaaa2222,鈴木\n")
    assert report.ok and report.header == "参加コード"
    assert report.codes == ["AAAA1111", "AAAA2222"]


def test_a_file_without_a_header_is_read_from_its_first_column_skipping_blank_lines():
    report = codes_read("BBBB-1111\n\nbbbb2222\n  \n")
    assert report.ok and report.codes == ["BBBB1111", "BBBB2222"] and report.empty_lines == 2


def test_every_problem_of_a_file_is_reported_by_line():
    project = make_project(residents_only=True)
    import_codes(project, "PRESENT-01")
    report = codes_read("code\nGOOD-0001\nbad!\nGOOD-0001\nshort\npresent01\n")
    assert not report.ok
    assert report.malformed == [(3, "bad!"), (5, "short")]
    assert report.duplicates == [(4, "GOOD0001")]
    assert report.already_present == [(6, "PRESENT01")]


def test_an_empty_file_is_not_importable():
    assert not codes_read("").ok
    assert not codes_read("参加コード\n").ok


def test_excel_files_in_utf8_with_bom_or_shift_jis_are_read():
    text = "参加コード\nCCCC-1111\n"
    assert codes_read(decode_csv(("\ufeff" + text).encode("utf-8"))).codes == ["CCCC1111"]
    assert codes_read(decode_csv(text.encode("cp932"))).codes == ["CCCC1111"]
    with pytest.raises(ImportFileError):
        decode_csv(b"\x81\x7f\x81\x7f")  # neither UTF-8 nor Shift_JIS


def test_a_lone_carriage_return_ends_a_line_and_an_unreadable_file_is_a_clear_error():
    assert codes_read("DDDD-1111\rDDDD-2222\r").codes == ["DDDD1111", "DDDD2222"]
    with pytest.raises(ImportFileError):
        codes_read('"' + "E" * 200_000 + '"\n')  # over the csv module's field limit


def test_an_import_stores_every_code_with_its_batch():
    project = make_project(residents_only=True)
    batch = import_codes(project, "DDDD-1111", "DDDD-2222")
    assert batch.codes_count == 2 and batch.codes.count() == 2
    assert ResidentImport.objects.get() == batch


# --- Entering a code -----------------------------------------------------------------------


def test_entering_a_code_makes_the_supporter_eligible_for_its_project_only():
    project, other = make_project(residents_only=True), make_project(residents_only=True)
    import_codes(project, "EEEE-1111")
    user = make_user()
    assert set(projects_closed_to(user)) == {project, other}
    code = redeem(user, "ｅｅｅｅ１１１１")
    assert code.project == project and code.used_by == user and code.used_at
    assert code.repeated is False
    assert set(projects_closed_to(user)) == {other}


def test_a_project_open_to_all_is_never_closed_to_anyone():
    make_project()
    assert not projects_closed_to(make_user()).exists()


def test_entering_ones_own_code_again_is_not_an_error():
    project = make_project(residents_only=True)
    import_codes(project, "FFFF-1111")
    user = make_user()
    redeem(user, "FFFF1111")
    assert redeem(user, "ffff-1111").repeated is True


def test_an_unknown_code_is_refused():
    assert refusal(make_user(), "ZZZZ-9999") == "unknown"


def test_a_malformed_code_is_refused_with_the_expected_format():
    with pytest.raises(ResidentCodeError) as caught:
        redeem(make_user(), "12-34")
    assert caught.value.code == "malformed"
    assert "8〜32文字" in caught.value.message


def test_a_code_is_used_once_and_the_refusal_does_not_say_by_whom():
    project = make_project(residents_only=True)
    import_codes(project, "GGGG-1111")
    first = make_user(email="first-household@example.jp")
    redeem(first, "GGGG1111")
    with pytest.raises(ResidentCodeError) as caught:
        redeem(make_user(), "GGGG1111")
    assert caught.value.code == "used"
    assert "first-household" not in caught.value.message
    assert ResidentCode.objects.get().used_by == first


def test_an_account_holds_at_most_one_code_per_project():
    project, other = make_project(residents_only=True), make_project(residents_only=True)
    import_codes(project, "HHHH-1111", "HHHH-2222")
    import_codes(other, "HHHH-3333")
    user = make_user()
    redeem(user, "HHHH1111")
    with pytest.raises(ResidentCodeError) as caught:
        redeem(user, "HHHH2222")
    assert caught.value.code == "already_held" and project.name in caught.value.message
    assert ResidentCode.objects.get(hint="222").used_by is None
    # Another project's code is another matter.
    assert redeem(user, "HHHH3333").project == other


def test_a_revoked_code_cannot_be_entered_and_its_holder_is_no_longer_eligible():
    project = make_project(residents_only=True)
    import_codes(project, "IIII-1111", "IIII-2222")
    staff = make_user(is_staff=True)
    unused = ResidentCode.objects.get(hint="111")
    assert resident_code_revoke(code=unused, staff=staff, reason="誤送付", now=timezone.now())
    assert not resident_code_revoke(code=unused, staff=staff, reason="again", now=timezone.now())
    assert refusal(make_user(), "IIII1111") == "revoked"

    holder = make_user()
    held = redeem(holder, "IIII2222")
    assert not projects_closed_to(holder).exists()
    resident_code_revoke(code=held, staff=staff, reason="転出", now=timezone.now())
    assert set(projects_closed_to(holder)) == {project}


# --- Guessing ------------------------------------------------------------------------------


@pytest.fixture
def tight_limits(settings):
    settings.KAIKA_RESIDENT_CODE_RATE_LIMITS = {"account": (3, 3600), "ip": (5, 3600)}


def test_guessing_is_limited_per_account(tight_limits):
    guesser = make_user()
    project = make_project(residents_only=True)
    import_codes(project, "JJJJ-1111")
    assert [refusal(guesser, f"GUESS-{i:04d}", ip=f"192.0.2.{i}") for i in range(3)] == [
        "unknown"
    ] * 3
    # The fourth try is refused before any look-up, even with the right code.
    assert refusal(guesser, "JJJJ1111", ip="192.0.2.99") == "rate_limited"
    assert ResidentCode.objects.get().used_by is None


def test_guessing_is_limited_per_client_address_across_accounts(tight_limits):
    outcomes = [refusal(make_user(), f"GUESS-{i:04d}") for i in range(6)]
    assert outcomes == ["unknown"] * 5 + ["rate_limited"]
    # Another address is counted apart.
    assert refusal(make_user(), "GUESS-9999", ip="198.51.100.7") == "unknown"


def test_malformed_entries_do_not_use_up_the_allowance(tight_limits):
    user = make_user()
    for _ in range(10):
        assert refusal(user, "x") == "malformed"
    assert refusal(user, "GUESS-0001") == "unknown"


def test_with_the_cache_down_entry_is_refused_rather_than_left_unlimited(monkeypatch, caplog):
    class Down(LocMemCache):
        def add(self, *args, **kwargs):
            raise RedisConnectionError("down")

    down = Down("down", {})
    monkeypatch.setattr(ratelimit_module, "caches", {"default": down})
    project = make_project(residents_only=True)
    import_codes(project, "KKKK-1111")
    assert refusal(make_user(), "KKKK1111") == "rate_limited"
    assert "rate limit unavailable" in caplog.text


# --- The supporter's data ------------------------------------------------------------------


def test_the_download_lists_the_codes_and_erasure_keeps_them_used():
    project = make_project(residents_only=True, name="対象地域プロジェクト")
    import_codes(project, "LLLL-1111")
    user = make_user()
    redeem(user, "LLLL1111")
    exported = data_rights.export_user_data(user=user)["resident_codes"]
    assert exported == [
        {
            "project": "対象地域プロジェクト",
            "code_ends_with": "111",
            "registered_at": ResidentCode.objects.get().used_at.isoformat(),
            "revoked_at": None,
        }
    ]
    data_rights.erase_user_data(user=user)
    code = ResidentCode.objects.get()
    assert code.used_by is None and code.is_used
    assert refusal(make_user(), "LLLL1111") == "used"
