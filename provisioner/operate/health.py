"""Health gates for deploys: GET a site's health path until it answers 200 or a deadline passes."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """Where a site's health path is reached. On Azure: https://<defaultHostName><path>. For a local
    target the site's host name does not resolve, so the request goes to the local cloud's own URL with the
    site's host name in the Host header (the local cloud routes on it)."""

    host: str  # the site's defaultHostName
    path: str
    local_url: str | None = None  # the local cloud's http://127.0.0.1:PORT, for local targets only

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"

    def request(self) -> urllib.request.Request:
        if self.local_url:
            return urllib.request.Request(self.local_url.rstrip("/") + self.path, headers={"Host": self.host})
        return urllib.request.Request(self.url)


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    last: str  # the last answer: "200", "503", "no answer (timed out)", ...
    attempts: int
    seconds: float


Probe = Callable[[Endpoint], str]


def probe(endpoint: Endpoint, timeout: float = 10.0) -> str:
    """One GET; returns the status code as text, or why there was no answer."""
    try:
        with urllib.request.urlopen(endpoint.request(), timeout=timeout) as resp:  # noqa: S310 - https or loopback
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"no answer ({reason})"


def wait_healthy(endpoint: Endpoint, timeout: float, interval: float, check: Probe = probe,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> Verdict:
    """Probe until 200 or `timeout` seconds have passed (at least one probe): a new container takes a while
    to start, so anything else is retried until the deadline."""
    started = clock()
    attempts = 0
    while True:
        attempts += 1
        last = check(endpoint)
        elapsed = clock() - started
        if last == "200":
            return Verdict(True, last, attempts, elapsed)
        if elapsed + interval > timeout:
            return Verdict(False, last, attempts, elapsed)
        sleep(interval)
