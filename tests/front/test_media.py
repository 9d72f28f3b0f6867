"""Uploaded photos (MEDIA_ROOT) are served by the project's nginx at /media/: images only, never
a page, with nosniff, cacheable by anyone (they are shown on public pages).

Only nginx runs here: /media/ never reaches the app, so its upstream is a port nobody answers.
"""

import pytest

from canary.walk import Response, request
from deploy import nginx
from tests.front.stack import running

pytestmark = pytest.mark.nginx

# The smallest valid PNG and a JPEG's first bytes: what the file holds does not matter to
# nginx, only its name does (the upload form has checked the image with Pillow).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
SCRIPT = "<script>alert('kaika')</script>"


@pytest.fixture
def media_front(tmp_path):
    media_root = tmp_path / "media"
    (media_root / "shops").mkdir(parents=True)
    (media_root / "listings").mkdir()
    port = nginx.free_port()
    config = nginx.write_config(
        tmp_path / "front",
        listen=f"127.0.0.1:{port}",
        upstreams=[f"127.0.0.1:{nginx.free_port()}"],
        static_root=tmp_path / "static",
        media_root=media_root,
    )
    with running(
        "nginx", nginx.command(config), address=f"127.0.0.1:{port}", log=tmp_path / "nginx.log"
    ):
        yield port, media_root


def get(port: int, path: str) -> Response:
    return request(port, "GET", path, {})


def test_nginx_serves_an_uploaded_photo_from_the_media_root(media_front):
    port, media_root = media_front
    (media_root / "shops" / "0f3c.png").write_bytes(PNG)
    (media_root / "listings" / "9a1b.jpg").write_bytes(b"\xff\xd8\xff\xe0 jpeg")

    photo = get(port, "/media/shops/0f3c.png")
    assert photo.status == 200
    assert photo.header("Content-Type") == "image/png"
    assert photo.header("X-Content-Type-Options") == "nosniff"
    assert photo.header("Cache-Control") == "public, max-age=86400"
    assert photo.header("Content-Length") == str(len(PNG))
    assert photo.header("X-Request-ID")
    assert not photo.header("X-Cache-Status")  # never through the app or its cache
    assert not photo.header("Set-Cookie")

    listing_photo = get(port, "/media/listings/9a1b.jpg")
    assert listing_photo.status == 200
    assert listing_photo.header("Content-Type") == "image/jpeg"


@pytest.mark.parametrize(
    "name",
    ["page.html", "page.htm", "image.svg", "script.js", "data.json", "notes.txt", "noext", "x.PNG"],
)
def test_nginx_serves_nothing_but_images_from_the_media_root(media_front, name):
    port, media_root = media_front
    (media_root / "shops" / name).write_text(f"<html><body>{SCRIPT}</body></html>")
    response = get(port, f"/media/shops/{name}")
    assert response.status == 404
    assert SCRIPT not in response.body
    assert response.header("X-Content-Type-Options") == "nosniff"


def test_nginx_lists_no_media_directory_and_serves_nothing_outside_it(media_front, tmp_path):
    port, media_root = media_front
    (media_root / "shops" / "0f3c.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_text(SCRIPT)
    for path in ("/media/", "/media/shops/", "/media/shops"):
        response = get(port, path)
        assert response.status == 404, path
        assert "0f3c" not in response.body, path
    for path in (
        "/media/../secret.png",
        "/media/%2e%2e/secret.png",
        "/media/shops/..%2f..%2fsecret.png",
    ):
        response = get(port, path)
        assert response.status != 200, path
        assert SCRIPT not in response.body, path
