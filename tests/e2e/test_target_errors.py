"""Errors keep their cause, from the CLI: an endpoint that does not speak ARM is refused before any report, and a
malformed --arm-endpoint is a usage error naming the value."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.helpers import cli

pytestmark = pytest.mark.e2e


def _not_arm(body: bytes, content_type: str) -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            seen.append(f"{self.command} {self.path}")
            self.send_response(404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_PUT = do_PATCH = do_POST = do_DELETE = do_GET

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=[(b"<html><body>404 Not Found</body></html>", "text/html"),
                        (b'{"detail": "Not Found"}', "application/json")], ids=["html", "json"])
def not_arm(request) -> Iterator[tuple[str, list[str]]]:
    yield from _not_arm(*request.param)


@pytest.mark.parametrize("command", ["drift", "plan", "provision"])
def test_an_endpoint_answering_404_to_everything_is_refused_before_any_report(not_arm, command):
    url, seen = not_arm
    run = cli(command, "--env", "dev", "--arm-endpoint", url)
    assert run.code == 1, run.out + run.err
    assert "does not answer like Azure Resource Manager" in run.err and "404" in run.err
    assert "differ" not in run.out + run.err and "to create" not in run.out  # no report of a vanished environment
    assert len(seen) == 1 and seen[0].startswith("GET /subscriptions/")  # one read, nothing written


def test_a_malformed_endpoint_is_a_usage_error_before_any_request():
    run = cli("plan", "--env", "dev", "--arm-endpoint", "127.0.0.1:47000")
    assert run.code == 1
    assert "Invalid value for '--arm-endpoint'" in run.err and "http://127.0.0.1:47000" in run.err
    assert "credential" not in run.err.lower()
