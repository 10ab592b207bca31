"""The run lock: one writer per environment, a renewed blob lease naming its holder; no SDK import here.

Design (docs/safety.md "One run at a time"; ../shared/design/reliability-notes.md §1):
- A **finite** lease (60 s, renewed every 15 s by a background thread). Terraform's azurerm backend takes
  an infinite lease, so a killed CI job stays locked until `force-unlock` (hashicorp/terraform#25776); a
  finite one frees itself within one lease period after its holder dies, with no manual step.
- The lease id is the run id, and the blob's metadata names the holder, so a waiting run can say who
  holds the lock and since when.
- A run that cannot renew before its lease would have lapsed has lost the lock: `check()` raises before
  every write and the run stops writing.
- Nobody else's lease is ever broken automatically: a live holder renews, and breaking it would let two
  runs interleave writes. A dead holder's lease expires by itself.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from provisioner.core.errors import AzureCallError, ProvisionerError

# Lease Blob answers when another run holds the blob (https://learn.microsoft.com/rest/api/storageservices/lease-blob).
HELD = {"LeaseAlreadyPresent", "LeaseIsBreakingAndCannotBeAcquired"}
# Renew answers meaning the lease is no longer ours: broken, released, or taken by another run after expiry.
GONE = {"LeaseIdMismatchWithLeaseOperation", "LeaseIsBrokenAndCannotBeRenewed", "LeaseNotPresentWithLeaseOperation",
        "LeaseLost", "BlobNotFound", "ContainerNotFound"}


class LockTimeout(ProvisionerError):
    """Another run held the environment's lock for longer than we were willing to wait."""


class LeaseLost(ProvisionerError):
    """This run no longer holds the lock: it must not write anything more."""


class LockBlob(Protocol):
    def ensure(self) -> bool: ...
    def acquire(self, lease_id: str, seconds: int) -> None: ...
    def renew(self, lease_id: str) -> None: ...
    def release(self, lease_id: str) -> None: ...
    def set_metadata(self, lease_id: str | None, metadata: dict[str, str]) -> None: ...
    def state(self) -> Any: ...


def _ascii(value: str) -> str:
    # Metadata travels as HTTP headers: ASCII, no control characters, single spaces (Shared Key signing).
    return " ".join("".join(c if 32 <= ord(c) < 127 else "?" for c in value).split())[:256]


@dataclass(frozen=True)
class Holder:
    """Who runs: stored in the lock blob's metadata while the lease is held."""

    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    who: str = ""
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    command: str = "provision"
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    url: str = ""  # the CI run, when there is one

    @classmethod
    def current(cls, command: str = "provision") -> Holder:
        env = os.environ
        who = env.get("GITHUB_ACTOR") or _user()
        url = ""
        if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
            url = f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        return cls(who=who, command=command, url=url)

    def metadata(self) -> dict[str, str]:
        meta = {"holder": self.who, "runid": self.run_id, "host": self.host, "pid": str(self.pid),
                "command": self.command, "started": self.started}
        if self.url:
            meta["url"] = self.url
        return {k: _ascii(v) for k, v in meta.items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> Holder | None:
        if not meta.get("runid"):
            return None
        pid = meta.get("pid", "0")
        return cls(run_id=meta["runid"], who=meta.get("holder", "?"), host=meta.get("host", "?"),
                   pid=int(pid) if pid.isdigit() else 0, command=meta.get("command", "?"),
                   started=meta.get("started", "?"), url=meta.get("url", ""))

    def describe(self) -> str:
        text = f"{self.who} on {self.host} (pid {self.pid}, `{self.command}`, run {self.run_id}, since {self.started})"
        return text + (f", {self.url}" if self.url else "")


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class RunLock:
    """Acquire (waiting up to `wait` seconds), renew in the background, check before writes, release."""

    def __init__(self, blob: LockBlob, env: str, holder: Holder | None = None, lease_seconds: int = 60,
                 renew_seconds: float = 15, wait: float = 900, poll: float = 2.0,
                 on_wait: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic):
        self.blob = blob
        self.env = env
        self.holder = holder or Holder.current()
        self.lease_seconds = lease_seconds
        self.renew_seconds = renew_seconds
        self.wait = wait
        self.poll = poll
        self.on_wait = on_wait
        self.clock = clock
        self.lost: str | None = None  # why the lease was lost, once it is
        self.renewals = 0
        self._held = False
        self._last_renewed = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ acquire
    def acquire(self) -> None:
        self.blob.ensure()
        deadline = self.clock() + self.wait
        told: str | None = None
        while True:
            try:
                self.blob.acquire(self.holder.run_id, self.lease_seconds)
                break
            except AzureCallError as exc:
                if exc.code not in HELD:
                    raise
            other = self._current_holder()
            if self.clock() >= deadline:
                raise LockTimeout(f"{self.env} is locked by {other}; gave up after waiting {self.wait:.0f}s "
                                  f"(a lease frees itself {self.lease_seconds}s after its holder stops renewing)")
            if self.on_wait and other != told:
                self.on_wait(f"{self.env} is locked by {other}; waiting up to {self.wait:.0f}s")
                told = other
            time.sleep(min(self.poll, max(0.0, deadline - self.clock())))
        self._held = True
        self._last_renewed = self.clock()
        self.blob.set_metadata(self.holder.run_id, self.holder.metadata())
        self._thread = threading.Thread(target=self._renew_loop, name=f"run-lock-{self.env}", daemon=True)
        self._thread.start()

    def _current_holder(self) -> str:
        try:
            state = self.blob.state()
        except AzureCallError as exc:
            return f"another run (its metadata could not be read: {exc})"
        holder = Holder.from_metadata(getattr(state, "metadata", {}) or {})
        return holder.describe() if holder else "another run (no holder recorded yet)"

    # ------------------------------------------------------------------ renew
    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_seconds):
            try:
                self.blob.renew(self.holder.run_id)
                self._last_renewed = self.clock()
                self.renewals += 1
            except AzureCallError as exc:
                if exc.code in GONE:
                    self.lost = f"the lease was taken away ({exc.code})"
                    return
                # Transient: keep trying while the lease can still be alive; past that, it may have lapsed.
                if self.clock() - self._last_renewed >= self.lease_seconds - self.renew_seconds / 2:
                    self.lost = f"could not renew the lease for {self.clock() - self._last_renewed:.0f}s ({exc})"
                    return

    def check(self) -> None:
        """Before every write: raise if this run may no longer hold the lock."""
        if self.lost is None and self._held and self.clock() - self._last_renewed >= self.lease_seconds:
            self.lost = f"no renewal for {self.clock() - self._last_renewed:.0f}s"
        if self.lost is not None:
            raise LeaseLost(f"lost the run lock on {self.env}: {self.lost}; stopped writing")

    # ------------------------------------------------------------------ release
    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._held and self.lost is None:
            with contextlib.suppress(AzureCallError):  # else it expires by itself within one lease period
                # Clear the holder first (as Terraform's azurerm backend does on unlock): the next holder's
                # metadata lands just after its acquire, and a waiter reading in between must not be told
                # that this finished run still holds the lock.
                self.blob.set_metadata(self.holder.run_id, {})
                self.blob.release(self.holder.run_id)
        self._held = False

