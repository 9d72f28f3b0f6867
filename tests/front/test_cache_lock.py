"""The shipped nginx locks and stores only public paths: simultaneous visitors of a private page
(sign-in, sign-up, the contact form) reach the app together instead of queueing behind the
cache lock, while a public page is still fetched once for all of them.

Real nginx with the shipped template, in front of a stand-in upstream that answers each request
after DELAY seconds, as a busy app node at 9:00 would. Negative control: the same template
with the public-path condition taken out, as it was, must queue the private visitors.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from canary.walk import request
from deploy import nginx
from tests.front.stack import running

pytestmark = pytest.mark.nginx

DELAY = 1.0
VISITORS = 8
PRIVATE = "/accounts/login/"
PUBLIC = "/shops/1/"


class SlowApp(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self):
        self.seen.append(self.path)
        time.sleep(DELAY)
        public = self.path == PUBLIC
        body = b"<p>page</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header(
            "Cache-Control",
            "public, max-age=0, s-maxage=60"
            if public
            else "max-age=0, no-cache, no-store, private",
        )
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def app():
    handler = type("Handler", (SlowApp,), {"seen": []})
    # socketserver's listen backlog is 5: an eighth simultaneous connection would wait for a
    # SYN retry (1 s), which looks like queueing.
    server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 64})
    server = server_class(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handler.seen
    server.shutdown()


def front(tmp_path, app_port: int, template=nginx.TEMPLATE):
    port = nginx.free_port()
    config = nginx.write_config(
        tmp_path / "front",
        listen=f"127.0.0.1:{port}",
        upstreams=[f"127.0.0.1:{app_port}"],
        static_root=tmp_path / "static",
        template=template,
    )
    nginx.check(config)
    return port, running(
        "nginx", nginx.command(config), address=f"127.0.0.1:{port}", log=tmp_path / "nginx.log"
    )


def together(port: int, path: str) -> tuple[float, list]:
    """VISITORS simultaneous anonymous GETs of `path`: the slowest one's seconds, the answers."""
    barrier = threading.Barrier(VISITORS)
    answers: list = [None] * VISITORS
    took = [0.0] * VISITORS

    def visit(i: int) -> None:
        barrier.wait()
        start = time.monotonic()
        answers[i] = request(port, "GET", path, {})
        took[i] = time.monotonic() - start

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(VISITORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return max(took), answers


def test_private_visitors_reach_the_app_together_and_a_public_page_is_fetched_once(tmp_path, app):
    app_port, seen = app
    port, process = front(tmp_path, app_port)
    with process:
        slowest, answers = together(port, PRIVATE)
        assert {a.header("X-Cache-Status") for a in answers} == {"BYPASS"}
        assert slowest < 2 * DELAY, f"private visitors queued: {slowest:.2f} s"
        assert seen.count(PRIVATE) == VISITORS

        _slowest, answers = together(port, PUBLIC)
        assert all(a.status == 200 for a in answers)
        assert seen.count(PUBLIC) == 1, "the public page was not fetched once for everyone"


def test_negative_control_locking_every_path_queues_private_visitors(tmp_path, app):
    shipped = nginx.TEMPLATE.read_text()
    as_before = shipped.replace(" $kaika_not_public;", ";")
    assert as_before != shipped
    template = tmp_path / "nginx.conf.template"
    template.write_text(as_before)
    app_port, _seen = app
    port, process = front(tmp_path, app_port, template)
    with process:
        slowest, answers = together(port, PRIVATE)
    assert {a.header("X-Cache-Status") for a in answers} <= {"MISS", "EXPIRED"}
    assert slowest > (VISITORS / 2) * DELAY, f"the control did not queue: {slowest:.2f} s"
