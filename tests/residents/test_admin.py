"""Staff import the codes from a CSV file (all or nothing), see how many are used per project,
find one by the code a resident reads out, and revoke it."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from residents.models import ResidentCode, ResidentImport
from residents.services import resident_code_redeem
from tests.conftest import make_user
from tests.projects.factories import make_project
from tests.residents.helpers import import_codes

pytestmark = pytest.mark.django_db
IMPORT = "/admin/residents/residentimport/import/"


def upload(staff_client, project, text: str, *, encoding="utf-8", name="codes.csv"):
    return staff_client.post(
        IMPORT,
        {
            "project": str(project.pk),
            "file": SimpleUploadedFile(name, text.encode(encoding), content_type="text/csv"),
            "note": "第1期 郵送分",
        },
        follow=True,
    )


def test_a_good_file_is_imported_whole_and_recorded(staff_client, staff_user):
    assert reverse("admin:residents_residentimport_import") == IMPORT
    project = make_project(residents_only=True, name="北区プロジェクト")
    response = upload(staff_client, project, "参加コード\nVVVV-1111\nvvvv 2222\nＶＶＶＶ３３３３\n")
    assert "「北区プロジェクト」の参加コードを3件取り込みました。" in response.content.decode()
    batch = ResidentImport.objects.get()
    assert (batch.codes_count, batch.note, batch.imported_by) == (3, "第1期 郵送分", staff_user)
    assert sorted(ResidentCode.objects.values_list("hint", flat=True)) == ["111", "222", "333"]
    assert LogEntry.objects.filter(object_id=str(batch.pk)).exists()


def test_a_file_with_any_problem_saves_nothing_and_lists_every_problem(staff_client):
    project = make_project(residents_only=True)
    import_codes(project, "WWWW-0000")
    response = upload(
        staff_client, project, "WWWW-1111\nWWWW-1111\n!!\nwwww0000\nWWWW-2222\n", encoding="cp932"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "何も保存していません" in body
    assert "形式が正しくないコード: 1件" in body and "3行目: !!" in body
    assert "ファイルの中で重複しているコード: 1件" in body and "2行目: WWWW1111" in body
    assert "すでに取り込み済みのコード: 1件" in body and "4行目: WWWW0000" in body
    assert ResidentCode.objects.count() == 1 and ResidentImport.objects.count() == 1


def test_an_unreadable_or_empty_file_saves_nothing(staff_client):
    project = make_project(residents_only=True)
    body = upload(staff_client, project, "").content.decode()
    assert "ファイルが空です" in body or "コードが1件もありません" in body
    response = staff_client.post(
        IMPORT,
        {"project": str(project.pk), "file": SimpleUploadedFile("x.csv", b"\x81\x7f\x81\x7f")},
    )
    assert "UTF-8またはShift_JIS" in response.content.decode()
    response = staff_client.post(IMPORT, {"project": "", "note": ""})
    assert "プロジェクトを選択してください。" in response.content.decode()
    assert "CSVファイルを選択してください。" in response.content.decode()
    assert not ResidentCode.objects.exists()


def test_the_lists_show_used_and_unused_counts_per_project(staff_client):
    project = make_project(residents_only=True, name="南区プロジェクト")
    import_codes(project, "XXXX-1111", "XXXX-2222", "XXXX-3333")
    resident_code_redeem(
        supporter=make_user(), typed="XXXX1111", client_ip="192.0.2.1", now=timezone.now()
    )
    ResidentCode.objects.filter(hint="333").update(revoked_at=timezone.now())
    for url in ("/admin/residents/residentcode/", "/admin/residents/residentimport/"):
        response = staff_client.get(url)
        assert IMPORT in response.content.decode(), url
        rows = [
            (p.name, p.codes_total, p.codes_used, p.codes_unused, p.codes_revoked)
            for p in response.context["project_counts"]
        ]
        assert rows == [("南区プロジェクト", 3, 1, 1, 1)], url
    filtered = staff_client.get("/admin/residents/residentcode/?state=unused")
    assert [c.hint for c in filtered.context["cl"].result_list] == ["222"]


def test_staff_find_a_code_by_what_the_resident_reads_out(staff_client):
    project = make_project(residents_only=True)
    import_codes(project, "YYYY-1111", "YYYY-2222")
    response = staff_client.get("/admin/residents/residentcode/", {"q": "yyyy－２２２２"})
    assert [c.hint for c in response.context["cl"].result_list] == ["222"]


def test_staff_revoke_a_code_with_a_reason(staff_client, staff_user):
    project = make_project(residents_only=True)
    import_codes(project, "ZZZZ-1111")
    code = ResidentCode.objects.get()
    url = "/admin/residents/residentcode/"
    action = {"action": "revoke_codes", "_selected_action": [str(code.pk)]}
    asked = staff_client.post(url, action)
    assert "無効にする理由" in asked.content.decode()
    missing = staff_client.post(url, {**action, "apply": "1", "reason": ""})
    assert "無効にする理由を入力してください。" in missing.content.decode()
    code.refresh_from_db()
    assert not code.is_revoked
    staff_client.post(url, {**action, "apply": "1", "reason": "誤って別の住所に送付"})
    code.refresh_from_db()
    assert code.is_revoked and code.revoked_by == staff_user
    assert code.revoke_reason == "誤って別の住所に送付"


def test_codes_are_never_added_or_deleted_by_hand(staff_client):
    project = make_project(residents_only=True)
    import_codes(project, "ABCD-1111")
    code = ResidentCode.objects.get()
    assert staff_client.get("/admin/residents/residentcode/add/").status_code == 403
    assert staff_client.get(f"/admin/residents/residentcode/{code.pk}/delete/").status_code == 403
    assert staff_client.get("/admin/residents/residentimport/add/")["Location"] == IMPORT
