"""Health gates for deploys: which version a site's health path answers with, until it is the expected one
(before a swap), and a short watch of production after it.

A 200 alone proves nothing after an image change: App Service keeps the running container answering until
the new one has started. So a gate waits for the app's deploy marker (provisioner/core/contract.py, the
app's health contract in docs/operations.md) to be the one the deploy set.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from provisioner.core.contract import HEALTH_MARKER_KEY


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
class Answer:
    """One probe: the status ("200", "503", "no answer (timed out)") and the deploy marker its JSON body
    carried (None when it had none: an app that does not follow the contract, or no body)."""

    status: str
    marker: str | None = None

    def __str__(self) -> str:
        return self.status + (f" with deploy_marker {self.marker!r}" if self.marker is not None else "")

    def serves(self, expected: str | None) -> bool:
        """200 from the expected version (None: any version)."""
        return self.status == "200" and (expected is None or self.marker == expected)


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    last: Answer  # the last answer
    attempts: int
    seconds: float


Probe = Callable[[Endpoint], Answer]


def _marker(body: bytes) -> str | None:
    try:
        doc = json.loads(body or b"null")
    except ValueError:
        return None
    value = doc.get(HEALTH_MARKER_KEY) if isinstance(doc, dict) else None
    return str(value) if value is not None else None


def probe(endpoint: Endpoint, timeout: float = 10.0) -> Answer:
    """One GET; the status and the deploy marker, or why there was no answer."""
    try:
        with urllib.request.urlopen(endpoint.request(), timeout=timeout) as resp:  # noqa: S310 - https or loopback
            return Answer(str(resp.status), _marker(resp.read(65536)))
    except urllib.error.HTTPError as exc:
        return Answer(str(exc.code), _marker(exc.read(65536)))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return Answer(f"no answer ({reason})")


def wait_serving(endpoint: Endpoint, expected: str | None, timeout: float, interval: float, check: Probe = probe,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> Verdict:
    """Probe until the expected version answers 200 or `timeout` seconds have passed (at least one probe): a
    new container takes a while to start, and until then the old one answers."""
    started = clock()
    attempts = 0
    while True:
        attempts += 1
        last = check(endpoint)
        elapsed = clock() - started
        if last.serves(expected):
            return Verdict(True, last, attempts, elapsed)
        if elapsed + interval > timeout:
            return Verdict(False, last, attempts, elapsed)
        sleep(interval)


def wait_healthy(endpoint: Endpoint, timeout: float, interval: float, check: Probe = probe,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> Verdict:
    """wait_serving for any version: 200 is enough."""
    return wait_serving(endpoint, None, timeout, interval, check, sleep, clock)


def watch(endpoint: Endpoint, expected: str, seconds: float, interval: float, failures: int, check: Probe = probe,
          sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> Verdict:
    """After a swap: probe every `interval` for `seconds`; unhealthy as soon as `failures` answers in a row are
    not 200 from the expected version. The swap already waited for the new version to be warm, so production
    should answer at once; this decides within failures x (probe timeout) + (failures - 1) x interval."""
    started = clock()
    attempts = bad = 0
    while True:
        attempts += 1
        last = check(endpoint)
        bad = 0 if last.serves(expected) else bad + 1
        elapsed = clock() - started
        if bad >= failures:
            return Verdict(False, last, attempts, elapsed)
        if elapsed + interval > seconds and bad == 0:
            return Verdict(True, last, attempts, elapsed)
        sleep(interval)
