"""The leak tripwire in the browser: a page shown to the wrong person hides itself.

Every per-user page carries a viewer marker (a keyed hash of the user id it was made for) on
its <html> element, and the login sets a cookie with the marker of the person who logged in
(only the login: a cookie set on every page would travel inside a wrongly cached page along
with it, and always match). static/js/tripwire.js compares the two before the page is shown;
on a mismatch it hides the page, reports here and reloads once. A burst of reports from
different viewers switches the whole site to maintenance (KAIKA_TRIPWIRE_AUTO_MAINTENANCE).
"""

import datetime
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.utils.crypto import salted_hmac

from kaika.mail import send_email_on_commit, staff_recipients
from ops.exposure import client_ip, request_id
from ops.models import TripwireReport
from ops.switches import maintenance_set, maintenance_state

VIEWER_COOKIE = "kaika_viewer"
MAIL_THROTTLE_KEY = "ops:tripwire:mailed"
MAIL_THROTTLE_SECONDS = 300


def viewer_marker(user_id) -> str:
    # Keyed: the marker says nothing about the user id to whoever reads the page or cookie.
    return salted_hmac("kaika.ops.viewer", str(user_id), algorithm="sha256").hexdigest()[:32]


def set_viewer_cookie(response, user) -> None:
    response.set_cookie(
        VIEWER_COOKIE,
        viewer_marker(user.pk),
        max_age=settings.SESSION_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        samesite="Lax",
        # Read by tripwire.js; it holds only the keyed hash, nothing to steal.
        httponly=False,
    )


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
                    body=(
                        f"{now:%Y-%m-%d %H:%M:%S} に、ブラウザが他の人向けのページを受け取り、"
                        f"表示を止めて報告しました。\nページ: {report.path}\n"
                        "管理画面の「表示の取り違えの報告」を確認してください。"
                        "(この通知は5分に1回までです)"
                    ),
                    to=recipients,
                )
            )
    auto_maintenance_check(now=now)
    return report


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
