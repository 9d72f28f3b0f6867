"""The till in Chromium with a camera: a fake capture device is fed a video of a supporter's
wallet QR code (made here from segno's PNG, written as Y4M), the page reads it (the vendored
jsQR, or BarcodeDetector), the confirmation shows amount, shop and balance after, and 確定
records the use. Then the supporter's card and the operator's log. Each new screen passes axe
and has no element wider than a 390 px phone."""

import datetime
import io

import pytest
import segno
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from ops.tripwire import VIEWER_COOKIE, viewer_marker
from purchases.models import Redemption, Wallet
from purchases.services import PaymentResult, order_create, payment_record
from tests.conftest import make_user
from tests.e2e.conftest import CHROMIUM, VIEWPORTS, check_screen
from tests.projects.factories import make_project, make_round, make_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_SHOP_NAME = "カフェかめやま・山口駅前本店(テイクアウト・ケータリング・ギフト専門館)"


def y4m_of_qr(text: str, path, width=640, height=480, frames=10) -> None:
    """A still video of the QR code for `text`, black on white, in the YUV4MPEG2 format that
    Chromium's fake camera reads: a header line, then per frame "FRAME", the luma plane, and
    the two chroma planes at a quarter size (128: no colour)."""
    png = io.BytesIO()
    segno.make(text, error="m").save(png, kind="png", scale=8, border=4)
    code = Image.open(io.BytesIO(png.getvalue())).convert("L")
    picture = Image.new("L", (width, height), 255)
    picture.paste(code, ((width - code.width) // 2, (height - code.height) // 2))
    chroma = bytes([128]) * (width // 2 * height // 2)
    frame = b"FRAME\n" + picture.tobytes() + chroma + chroma
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        video.write(frame * frames)


def log_in(page, user) -> None:
    """A session made on the server and handed to the browser, with the tripwire's cookie a
    login sets (ops/tripwire.py); the login form has its own test."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [
            {"name": cookie.key, "value": cookie.value, "url": page.url},
            {"name": VIEWER_COOKIE, "value": viewer_marker(user.pk), "url": page.url},
        ]
    )


def too_wide(page) -> list[str]:
    """Elements reaching past the viewport, other than inside a box that scrolls sideways on
    its own (a wide table), and the page's own width."""
    return page.evaluate(
        """() => {
        const width = document.documentElement.clientWidth;
        const found = [];
        if (document.documentElement.scrollWidth > width) {
            found.push('page ' + document.documentElement.scrollWidth);
        }
        for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || (box.right <= width + 1 && box.width <= width + 1)) continue;
            let parent = el.parentElement, contained = false;
            for (; parent && parent !== document.body; parent = parent.parentElement) {
                if (getComputedStyle(parent).overflowX !== 'visible') { contained = true; break; }
            }
            if (!contained) found.push(el.tagName + ' ' + Math.round(box.width));
        }
        return found;
    }"""
    )


@pytest.fixture
def backed_shop():
    """An operator's shop, and a supporter with 3,000 yen of its tickets usable today."""
    today = timezone.localdate()
    project = make_project()
    round_ = make_round(
        project,
        number=1,
        usage_starts_on=today - datetime.timedelta(days=1),
        usage_ends_on=today + datetime.timedelta(days=60),
    )
    operator = make_user(email="till-operator@example.jp")
    shop = make_shop(project, operators=[operator], name=LONG_SHOP_NAME)
    supporter = make_user(email="a-supporter-with-a-rather-long-address@example.jp")
    now = timezone.now()
    order = order_create(
        supporter=supporter,
        listing_id=shop.listings.get(is_standard=True).pk,
        round_id=round_.pk,
        units=2,
        idempotency_key="till-browser-test",
        now=now,
    )
    payment_record(
        result=PaymentResult("sandbox", order.code, "sbx_till", order.amount, True, now), now=now
    )
    return {
        "shop": shop,
        "operator": operator,
        "supporter": supporter,
        "wallet": Wallet.objects.get(supporter=supporter, shop=shop),
    }


@pytest.fixture
def camera_page(browser, tmp_path):
    """A page in a Chromium of its own whose camera films the given video."""
    launched = []

    def make(video):
        camera = browser.browser_type.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
                "--use-fake-ui-for-media-stream",
            ],
        )
        launched.append(camera)
        context = camera.new_context(viewport=VIEWPORTS["phone"], locale="ja-JP")
        return context.new_page()

    yield make
    for camera in launched:
        camera.close()


def test_the_till_reads_a_wallet_qr_code_by_camera_confirms_and_records_the_use(
    live_server, camera_page, page_for, backed_shop, tmp_path
):
    shop, wallet = backed_shop["shop"], backed_shop["wallet"]
    till_url = f"{live_server.url}/shops/manage/{shop.pk}/redeem/"
    # What the supporter's card shows: the till's address with the wallet's code.
    video = tmp_path / "wallet-qr.y4m"
    y4m_of_qr(f"{till_url}?code={wallet.code}", video)

    till = camera_page(video)
    # The vendored jsQR reads the frames (Chromium on Linux has no BarcodeDetector; removed
    # here so that the test means the same wherever it runs).
    till.add_init_script("delete window.BarcodeDetector;")
    problems = []
    till.on("console", lambda m: m.type == "error" and problems.append(m.text))
    till.on("pageerror", lambda error: problems.append(str(error)))
    till.goto(live_server.url + "/")
    log_in(till, backed_shop["operator"])
    till.goto(till_url)
    expect(till.locator("[data-scanner]")).to_be_visible()
    check_screen(till, "till-phone")
    assert too_wide(till) == []

    till.get_by_role("button", name="カメラを起動する").click()
    expect(till.locator("#id_code")).to_have_value(wallet.code, timeout=20_000)
    expect(till.locator("[data-scanner-status]")).to_contain_text("読み取りました")
    expect(till.locator("#id_amount")).to_be_focused()
    expect(till.locator("[data-scanner]")).to_have_attribute("data-reader", "jsqr")
    assert problems == []  # no script error, nothing refused by the Content-Security-Policy
    till.keyboard.type("1200")
    till.get_by_role("button", name="確認へ進む").click()

    expect(till.locator("h1")).to_have_text("利用の確認")
    confirmation = till.locator(".till-confirm")
    expect(confirmation).to_contain_text("1,200円")
    expect(confirmation).to_contain_text(LONG_SHOP_NAME)
    expect(confirmation).to_contain_text("1,800円")  # the supporter keeps 3,000 - 1,200
    assert backed_shop["supporter"].email not in till.content()
    assert not Redemption.objects.exists()
    check_screen(till, "till-confirm-phone")
    assert too_wide(till) == []

    till.get_by_role("button", name="確定").click()
    expect(till.locator(".messages")).to_contain_text("1,200円を利用しました")
    redemption = Redemption.objects.get()
    assert (redemption.amount, redemption.balance_after) == (1200, 1800)
    assert redemption.operator == backed_shop["operator"]
    check_screen(till, "till-done-phone")

    till.get_by_role("link", name="利用の記録(日ごとの合計)").click()
    expect(till.locator("h1")).to_have_text("利用の記録")
    expect(till.locator(".till-day")).to_contain_text("1,200円")
    check_screen(till, "till-log-phone")
    assert too_wide(till) == []

    # The supporter sees the balance drop on their card, with its one QR code.
    page = page_for("phone")
    page.goto(live_server.url + "/")
    log_in(page, backed_shop["supporter"])
    page.goto(live_server.url + "/mypage/tickets/")
    card = page.locator(f"#wallet-{shop.pk}")
    expect(card).to_contain_text("1,800円")
    expect(card.locator(".qr svg")).to_have_count(1)
    check_screen(page, "tickets-wallet-phone")
    assert too_wide(page) == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_till_s_screens_without_a_camera_are_accessible(
    live_server, page_for, backed_shop, viewport
):
    """No camera here (the ordinary browser): the code is typed, and the same screens hold."""
    shop, wallet = backed_shop["shop"], backed_shop["wallet"]
    page = page_for(viewport)
    page.goto(live_server.url + "/")
    log_in(page, backed_shop["operator"])
    page.goto(f"{live_server.url}/shops/manage/{shop.pk}/redeem/")
    page.fill("#id_code", wallet.code.lower())
    page.fill("#id_amount", "5000")
    page.get_by_role("button", name="確認へ進む").click()
    expect(page.locator(".form-errors")).to_contain_text("本日使える残額(3,000円)")
    check_screen(page, f"till-refused-{viewport}")
    page.fill("#id_amount", "500")
    page.get_by_role("button", name="確認へ進む").click()
    page.get_by_role("button", name="戻る").click()
    expect(page.locator("#id_amount")).to_have_value("500")
    assert not Redemption.objects.exists()
    page.goto(f"{live_server.url}/shops/manage/{shop.pk}/redeem/log/")
    check_screen(page, f"till-log-empty-{viewport}")
    if viewport == "phone":
        assert too_wide(page) == []
