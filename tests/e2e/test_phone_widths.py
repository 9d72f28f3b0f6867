"""On a 390 px phone nothing is wider than the screen: not a 28-character ticket code, not an
order code, not a supporter whose name and email run to the length the forms allow, and every
column of a table stays in view. Every main screen, signed out, as that supporter, and as the
operator of a shop; each checked with axe too."""

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from inquiries.models import Category
from inquiries.services import inquiry_create
from ops.tripwire import VIEWER_COOKIE, viewer_marker
from purchases.models import Ticket, Wallet
from purchases.services import PaymentResult, order_create, payment_record, wallet_redeem
from tests.conftest import make_user
from tests.e2e.conftest import check_screen
from tests.projects.factories import make_listing, make_project, make_round, make_shop

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.e2e.urls"),
]
PHONE = 390

# As long as the forms allow, and without a space where a line could break.
LONG = {
    "family_name": "Wolfeschlegelsteinhausenbergerdorffvoralternwaren",
    "given_name": "Hubertblainewolfeschlegelsteinhausenbergerdorffsr",
    "email": (
        "hubert.blaine.wolfeschlegelsteinhausenbergerdorff.senior.1234@"
        "a-rather-long-subdomain-of-the-family-business.example.jp"
    ),
    "city": "山口市",
    "street_address": "大字上宇野令字東山ノ上一丁目一番一号亀山公園ふれあい広場前交差点角",
    "building": "GrandMaisonKameyamaParkSideResidenceTowerEastWingPenthouseSuite-No.12345",
}

# Everything whose right edge is past the viewport, and any text that runs past the box it is
# written in (a code past its card) or past the screen; the page must not scroll sideways.
# Text inside a box that clips or scrolls it (a visually hidden label) is that box's business.
WIDER_THAN_THE_SCREEN = """
() => {
  const width = document.documentElement.clientWidth;
  const describe = el => el.tagName.toLowerCase()
    + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className.trim()
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const wide = [];
  const past = new Set();
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right > width + 0.5) {
      past.add(el);
      // The outermost one says where: its children reaching as far are the same finding.
      if (past.has(el.parentElement)) continue;
      wide.push(`${describe(el)} reaches ${Math.round(box.right)}px: `
        + (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40));
    }
  }
  const text = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (text.nextNode()) {
    const node = text.currentNode;
    if (!node.textContent.trim()) continue;
    let clipped = false;
    for (let a = node.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX !== 'visible' || style.display === 'none') { clipped = true; break; }
    }
    if (clipped) continue;
    let box = node.parentElement;
    while (box.parentElement && ['inline', 'contents'].includes(getComputedStyle(box).display)) {
      box = box.parentElement;
    }
    const style = getComputedStyle(box);
    const inner = box.getBoundingClientRect().right - parseFloat(style.paddingRight)
      - parseFloat(style.borderRightWidth);
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const line of range.getClientRects()) {
      if (line.width > 0 && line.right > Math.min(width, inner) + 1) {
        wide.push(`text in ${describe(box)} runs to ${Math.round(line.right)}px`
          + ` (its box ends at ${Math.round(inner)}px): ${node.textContent.trim().slice(0, 40)}`);
        break;
      }
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, wide: wide.slice(0, 20)};
}
"""


def log_in(page, base: str, user) -> None:
    """A session made on the server and handed to the browser (the login form has its own
    test), with the tripwire's cookie a login sets."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [
            {"name": cookie.key, "value": cookie.value, "url": base + "/"},
            {"name": VIEWER_COOKIE, "value": viewer_marker(user.pk), "url": base + "/"},
        ]
    )


def overflow(page) -> list[str]:
    seen = page.evaluate(WIDER_THAN_THE_SCREEN)
    problems = list(seen["wide"])
    if seen["scrollWidth"] > PHONE:
        problems.insert(0, f"the page scrolls sideways ({seen['scrollWidth']}px)")
    return problems


@pytest.fixture
def long_names():
    """A supporter with the longest name and email, who backed a shop (paid orders, tickets,
    one partly used) and runs it; a round open now, one before it and one to come."""
    now = timezone.now()
    today = timezone.localdate()
    project = make_project()
    make_round(project, number=1, state="closed")
    current = make_round(
        project,
        number=2,
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=90),
    )
    make_round(project, number=3, state="scheduled")
    supporter = make_user(**LONG)
    shop = make_shop(
        project, operators=[supporter], name="手づくり洋菓子と珈琲のお店 かめやま山口本店"
    )
    make_listing(shop, title="季節のケーキセット(ドリンク付き)", unit_price=3000, stock_limit=20)
    standard = shop.listings.get(is_standard=True)

    def back(units: int, key: str):
        return order_create(
            supporter=supporter,
            listing_id=standard.pk,
            round_id=current.pk,
            units=units,
            idempotency_key=key,
            now=now,
        )

    orders = [back(3, "phone-width-order-1"), back(1, "phone-width-order-2")]
    for order in orders:
        payment_record(
            result=PaymentResult(
                "sandbox", order.code, f"sbx_{order.code}", order.amount, True, now
            ),
            now=now,
        )
    pending = back(2, "phone-width-order-3")
    inquiry = inquiry_create(
        name=supporter.full_name,
        email=supporter.email,
        category=Category.TICKETS,
        subject="チケットの残額について",
        body="QRコードが読み取れませんでした。",
        order=orders[0],
        user=supporter,
        client_ip="192.0.2.1",
        idempotency_key="phone-width-inquiry-1",
        now=now,
    )
    ticket = Ticket.objects.filter(order=orders[0]).first()
    wallet_redeem(shop=shop, code=ticket.code, amount=100, operator=supporter, now=now)
    return {
        "supporter": supporter,
        "shop": shop,
        "project": project,
        "round": current,
        "order": orders[0],
        "pending": pending,
        "ticket": ticket,
        "inquiry": inquiry,
    }


def test_no_screen_is_wider_than_a_390px_phone(live_server, page_for, long_names):
    page = page_for("phone")
    shop, project = long_names["shop"], long_names["project"]
    standard = shop.listings.get(is_standard=True)
    base = f"/shops/manage/{shop.pk}"
    public = {
        "home": "/",
        "shops": "/shops/",
        "shop": f"/shops/{shop.pk}/",
        "project": project.get_absolute_url(),
        "round": long_names["round"].get_absolute_url(),
        "contact": "/contact/",
        "legal": "/legal/",
    }
    signed_in = {
        "mypage": "/mypage/",
        "mypage-en": "/en/mypage/",
        "profile": "/mypage/profile/",
        "orders": "/mypage/orders/",
        "order": f"/mypage/orders/{long_names['order'].code}/",
        "order-pending": f"/mypage/orders/{long_names['pending'].code}/",
        "receipt": f"/mypage/orders/{long_names['order'].code}/receipt/",
        "tickets": "/mypage/tickets/",
        "ticket": f"/mypage/tickets/{long_names['ticket'].code}/",
        "confirmation": (
            f"/orders/confirm/?listing={standard.pk}&round={long_names['round'].pk}&units=2"
        ),
        "contact-member": "/contact/",
        "inquiries": "/mypage/inquiries/",
        "inquiry": f"/mypage/inquiries/{long_names['inquiry'].reference}/",
        "data": "/mypage/data/",
        "shop-member": f"/shops/{shop.pk}/",
        "manage": "/shops/manage/",
        "manage-shop": f"{base}/",
        "manage-edit": f"{base}/edit/",
        "manage-listing-new": f"{base}/listings/new/",
        "manage-figures": f"{base}/figures/",
        "manage-redeem": f"{base}/redeem/",
        "manage-redeem-log": f"{base}/redeem/log/",
    }
    problems = []

    def look(name: str, path: str) -> None:
        response = page.goto(live_server.url + path)
        assert response.status == 200, f"{name}: {path} gave {response.status}"
        assert page.url == live_server.url + path, f"{name}: {path} went to {page.url}"
        problems.extend(f"{name}: {p}" for p in overflow(page))
        check_screen(page, f"long-{name}-phone")

    for name, path in public.items():
        look(name, path)
    log_in(page, live_server.url, long_names["supporter"])
    for name, path in signed_in.items():
        look(name, path)
    # The till's confirmation, for the supporter's wallet (its 28-character code).
    wallet = Wallet.objects.get(supporter=long_names["supporter"], shop=shop)
    page.goto(f"{live_server.url}{base}/redeem/")
    page.fill("input[name=code]", wallet.code)
    page.fill("input[name=amount]", "200")
    page.click("main form.card button[type=submit]")
    page.wait_for_load_state()
    assert "till-confirm" in page.content()
    problems.extend(f"manage-redeem-confirm: {p}" for p in overflow(page))
    check_screen(page, "long-manage-redeem-confirm-phone")
    assert problems == [], "\n".join(problems)


def test_the_check_sees_an_element_wider_than_the_screen(live_server, page_for, long_names):
    """Negative control: a code that cannot wrap, forced not to, is caught."""
    page = page_for("phone")
    page.goto(live_server.url + "/contact/")
    page.evaluate(
        """() => { const p = document.createElement('p');
                   p.style.whiteSpace = 'nowrap';
                   p.textContent = 'T-ABCDEFGHJKMNPQRSTUVWXYZ23456789'.repeat(3);
                   document.querySelector('main').append(p); }"""
    )
    seen = overflow(page)
    assert any("runs to" in p for p in seen), seen
    assert any("scrolls sideways" in p for p in seen), seen
