"""The leak tripwire in the browser: a page shown to the wrong browser hides itself.

Signed-in pages carry <html data-viewer>, a keyed hash of the user id. Each login sets the
cookie kaika_viewer to it and each logout deletes it (ops.middleware.ViewerCookieMiddleware);
no other response sets it: set with every page, it would travel inside a wrongly cached page
and match it. Other private pages (signup, login, the contact form: they echo what an
anonymous visitor typed) carry <html data-visitor>, the kaika_visitor cookie the request came
with: a random value that tripwire.js alone writes in each browser, never a server Set-Cookie
that a cache could hand on. tripwire.js compares before the page is shown; a page made for
another browser is hidden, reported here, and reloaded once. What it cannot catch is in
docs/operations.md. A burst of verified reports from different viewers switches the site to
maintenance (KAIKA_TRIPWIRE_AUTO_MAINTENANCE).
"""

import datetime
import ipaddress
import re

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.utils.crypto import salted_hmac

from kaika.mail import send_email_on_commit, staff_recipients
from ops.exposure import client_ip, request_id
from ops.models import TripwireReport
from ops.switches import maintenance_set, maintenance_state

VIEWER_COOKIE = "kaika_viewer"
# Longer than any session lives (SESSION_COOKIE_AGE from its last save, which a later write
# renews): a signed-in page in a browser without the cookie counts as a leak.
VIEWER_COOKIE_AGE = 60 * 60 * 24 * 365
VISITOR_COOKIE = "kaika_visitor"
VISITOR_MARK_RE = re.compile(r"[0-9a-f]{32}")
MAIL_THROTTLE_KEY = "ops:tripwire:mailed"
MAIL_THROTTLE_SECONDS = 300


def viewer_marker(user_id) -> str:
    # Keyed: the marker says nothing about the user id to whoever reads the page or cookie.
    return salted_hmac("kaika.ops.viewer", str(user_id), algorithm="sha256").hexdigest()[:32]


def set_viewer_cookie(response, marker: str) -> None:
    """Set to `marker` (at a login), or deleted when it is empty (at a logout)."""
    if not marker:
        response.delete_cookie(VIEWER_COOKIE, samesite="Lax")
        return
    response.set_cookie(
        VIEWER_COOKIE,
        marker,
        max_age=VIEWER_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        # Read by tripwire.js; it holds only the keyed hash, nothing to steal.
        httponly=False,
    )


def visitor_mark(request) -> str:
    """The kaika_visitor cookie this request came with, echoed on the page; only the shape
    tripwire.js writes (anything else is no mark)."""
    value = request.COOKIES.get(VISITOR_COOKIE, "")
    return value if VISITOR_MARK_RE.fullmatch(value) else ""


def tripwire_report_record(
    *, request, path: str, seen: str, own: str, now: datetime.datetime
) -> TripwireReport:
    # Verified: the browser's own session is of the person its cookie names. Only verified
    # reports count towards automatic maintenance, so forged reports cannot stop the site.
    user = request.user
    verified = bool(user.is_authenticated and own == viewer_marker(user.pk) and seen != own)
    report = TripwireReport.objects.create(
        at=now,
        path=path[:500],
        seen_marker=seen[:64],
        own_marker=own[:64],
        verified=verified,
        user_id=user.pk if user.is_authenticated else None,
        client_ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=request_id(request),
    )
    if cache.add(MAIL_THROTTLE_KEY, 1, MAIL_THROTTLE_SECONDS):
        recipients = staff_recipients()
        if recipients:
            send_email_on_commit(
                EmailMessage(
                    subject="[kaika] 表示の取り違えを検知しました(漏えいの可能性)",
                    body=_staff_email_body(report),
                    to=recipients,
                )
            )
    auto_maintenance_check(now=now)
    return report


def _staff_email_body(report: TripwireReport) -> str:
    lines = [
        f"{report.at:%Y-%m-%d %H:%M:%S} に、ブラウザが他の人向けのページを受け取り、"
        "表示を止めて報告しました。",
        f"ページ: {report.path}",
    ]
    if not report.own_marker:
        # A browser that never signed in (or typed) here: the report cannot be verified, yet
        # it is exactly how a shared cache handing out pages shows itself.
        lines.append(
            "報告したブラウザには照合用のクッキーがありませんでした(ログインしていない、"
            "または初めて訪れたブラウザ)。本人確認できない報告ですが、共有キャッシュ"
            "(CDN・プロキシ)の設定を確認してください。"
        )
    lines.append(
        "管理画面の「表示の取り違えの報告」を確認してください。(この通知は5分に1回までです)"
    )
    return "\n".join(lines)


def auto_maintenance_check(*, now: datetime.datetime) -> bool:
    """Maintenance on when enough different people (verified reports) saw someone else's
    page within the window, from as many different networks.

    A verified report proves only that the reporter is signed in as the person their cookie
    names: someone holding several accounts can copy one account's page and report it from
    the others. A wrongly cached page reaches people on many networks (homes, carriers), so
    the reporters must also come from `threshold` different networks (IPv4 /24, IPv6 /48):
    a handful of accounts on one connection can no longer stop the site, and staff are still
    emailed about every burst. Whoever controls many networks still can; then turn automatic
    maintenance off (KAIKA_TRIPWIRE_AUTO_MAINTENANCE=0) and decide by hand."""
    threshold, window = settings.KAIKA_TRIPWIRE_AUTO_MAINTENANCE
    if not threshold or maintenance_state().on:
        return False
    reports = TripwireReport.objects.filter(
        verified=True, at__gte=now - datetime.timedelta(seconds=window)
    ).values_list("user_id", "client_ip")
    viewers, networks = set(), set()
    for user_id, ip in reports:
        viewers.add(user_id)
        if ip:
            networks.add(_network(ip))
    if len(viewers) < threshold or len(networks) < threshold:
        return False
    maintenance_set(
        on=True,
        message="表示の不具合を検知したため、自動的に停止しました。",
        by=None,
        now=now,
    )
    return True


def _network(ip: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    prefix = 24 if ipaddress.ip_address(ip).version == 4 else 48
    return ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
