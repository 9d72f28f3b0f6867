"""A simulated leak: responses with personal data recorded through the real views, placed
in and around the 2021 window; the report must name exactly the people inside it."""

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from ops.models import ExposureAction, ExposureLog, NoticeSent
from ops.reports import exposure_report, parse_window
from tests.conftest import PASSWORD, download_url, login_staff, make_user
from tests.url_catalogue import VALID_POSTS

WINDOW = ("2021-08-31 08:50", "2021-08-31 09:09")


def at(hms: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(f"2021-08-31 {hms}"))


def happened_at(moment: datetime.datetime) -> None:
    """Move the row the last request wrote to `moment` (the views stamp the real time)."""
    last = ExposureLog.objects.latest("id")
    last.at = moment
    last.save(update_fields=["at"])


@pytest.fixture
def leak(db, client):
    people = {
        key: make_user(email=f"{key}@example.jp", family_name=name, given_name="花子")
        for key, name in [("a", "青木"), ("b", "馬場"), ("c", "千葉"), ("d", "土井"), ("e", "江藤")]
    }

    def as_(person):
        client.logout()
        client.force_login(person)

    as_(people["a"])
    client.get(reverse("supporters:mypage"))
    happened_at(at("08:55:00"))
    client.logout()
    client.post(reverse("account_login"), {"login": "a@example.jp", "password": PASSWORD})
    happened_at(at("09:01:00"))
    # Someone else mistypes B's password: the form echoes B's address.
    client.logout()
    client.post(reverse("account_login"), {"login": "b@example.jp", "password": "wrong-pass"})
    happened_at(at("09:00:00"))
    as_(people["c"])
    client.post(reverse("supporters:profile_edit"), VALID_POSTS["supporters:profile_edit"]({}))
    happened_at(at("09:09:30"))
    # Just outside, on either side.
    as_(people["d"])
    client.get(reverse("supporters:mypage"))
    happened_at(at("08:49:59"))
    as_(people["e"])
    client.get(reverse("supporters:profile_edit"))
    happened_at(at("09:10:00"))
    # A contact from an address that is nobody's account: counted, not named.
    client.logout()
    data = {**VALID_POSTS["inquiries:contact"]({}), "email": "stranger@example.jp"}
    client.post(reverse("inquiries:contact"), data)
    happened_at(at("09:05:00"))
    assert ExposureLog.objects.count() == 7
    return people


def test_the_report_names_exactly_the_people_shown_in_the_window(leak):
    report = exposure_report(start=at("08:50:00"), end=at("09:10:00"))
    assert [s.email for s in report.subjects] == ["a@example.jp", "b@example.jp", "c@example.jp"]
    a = report.subjects[0]
    assert a.actions == {ExposureAction.MY_PAGE, ExposureAction.LOGIN_COMPLETED}
    assert (a.first, a.last, a.responses) == (at("08:55:00"), at("09:01:00"), 2)
    assert a.name == "青木 花子"
    assert report.unknown_emails == 1
    assert dict((action, n) for action, _, n in report.counts) == {
        "mypage": 1,
        "login": 1,
        "login_failed": 1,
        "profile_updated": 1,
        "contact_sent": 1,
    }


def test_to_0909_includes_the_whole_minute_a_naive_reading_would_miss(leak):
    start, end = parse_window(*WINDOW)
    assert (start, end) == (at("08:50:00"), at("09:10:00"))
    # Control: taking "09:09" as an exclusive instant loses C (seen at 09:09:30).
    naive = exposure_report(start=start, end=at("09:09:00"))
    assert "c@example.jp" not in [s.email for s in naive.subjects]


def test_the_command_prints_counts_and_writes_the_csv(leak, tmp_path):
    out = io.StringIO()
    path = tmp_path / "affected.csv"
    call_command(
        "exposure_report", "--from", WINDOW[0], "--to", WINDOW[1], "--csv", str(path), stdout=out
    )
    text = out.getvalue()
    assert "Responses with personal data: 5" in text
    assert "Subjects (members): 3" in text and "hash only): 1" in text
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][:3] == ["会員ID", "メールアドレス", "氏名"]
    assert [r[1] for r in rows[1:]] == ["a@example.jp", "b@example.jp", "c@example.jp"]
    assert rows[1][3] == "ログイン完了 / マイページ" and rows[1][4:] == [
        "2021-08-31 08:55:00",
        "2021-08-31 09:01:00",
        "2",
    ]


def test_the_command_refuses_a_malformed_window(db):
    with pytest.raises(CommandError):
        call_command("exposure_report", "--from", "31/08/2021", "--to", WINDOW[1])


def test_the_same_report_is_in_admin_with_a_csv_download(leak, client, staff_user):
    login_staff(client, staff_user)
    url = reverse("admin:ops_exposurelog_report")
    assert client.get(url).status_code == 200
    response = client.get(url, {"start": WINDOW[0], "end": WINDOW[1]})
    html = response.content.decode()
    assert "a@example.jp" in html and "c@example.jp" in html and "d@example.jp" not in html
    assert "private" in response["Cache-Control"]
    # The CSV: a POST of the window under the browser's own nonce (kaika/downloads.py).
    form = html[html.index('class="download-form"') :]
    form = form[: form.index("</form>")]
    assert 'name="start" value="' + WINDOW[0] in form and 'name="csrfmiddlewaretoken"' in form
    download = client.post(
        download_url("admin:ops_exposurelog_report_csv"), {"start": WINDOW[0], "end": WINDOW[1]}
    )
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    assert download.content.decode("utf-8-sig").count("@example.jp") == 3
    # The old GET with format=csv is only the page again: no CSV at a URL anyone can ask for.
    old = client.get(url, {"start": WINDOW[0], "end": WINDOW[1], "format": "csv"})
    assert old["Content-Type"].startswith("text/html")
    assert (
        reverse("admin:ops_exposurelog_report")
        in client.get(reverse("admin:ops_exposurelog_changelist")).content.decode()
    )


def test_supporters_cannot_open_the_report(leak, user_client):
    response = user_client.get(reverse("admin:ops_exposurelog_report"))
    assert response.status_code == 302 and "login" in response.url


def notify(*extra):
    out = io.StringIO()
    call_command(
        "notify_affected",
        "--from",
        WINDOW[0],
        "--to",
        WINDOW[1],
        "--template",
        "exposure_apology",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_a_dry_run_sends_nothing(leak, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert "would send 3" in notify("--dry-run")
    assert mailoutbox == [] and not NoticeSent.objects.exists()


def test_notices_go_once_to_each_affected_member(
    leak, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert "Queued 3 notices" in notify()
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.jp", "b@example.jp", "c@example.jp"]
    mail = next(m for m in mailoutbox if m.to == ["a@example.jp"])
    assert mail.subject.startswith("【重要】") and "青木 花子 様" in mail.body
    assert "ログイン完了、マイページ" in mail.body and "2021年8月31日 8:50" in mail.body
    # Run again: nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        assert "Queued 0 notices" in notify()
    assert len(mailoutbox) == 3
    assert NoticeSent.objects.count() == 3
    # Someone found later (a revised window, as in 2021) gets theirs, and only they do.
    ExposureLog.objects.filter(subject_id=leak["d"].pk).update(at=at("08:51:00"))
    with django_capture_on_commit_callbacks(execute=True):
        assert "Queued 1 notices" in notify()
    assert [m.to for m in mailoutbox[3:]] == [["d@example.jp"]]


def test_an_unknown_notice_template_is_refused(db):
    with pytest.raises(CommandError, match="No notice template"):
        call_command(
            "notify_affected", "--from", WINDOW[0], "--to", WINDOW[1], "--template", "nope"
        )
