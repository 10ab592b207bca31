"""RunLock against a scripted fake blob: waiting, naming the holder, renewal failures, release."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from provisioner.core.errors import AzureCallError
from provisioner.operate.lease import Holder, LeaseLost, LockTimeout, RunLock


class FakeBlob:
    def __init__(self, holder: Holder | None = None, free_after: int = 0):
        self.meta = holder.metadata() if holder else {}
        self.busy = free_after  # acquire attempts refused before the lease is free
        self.renew_errors: list[AzureCallError] = []
        self.calls: list[str] = []
        self.lock = threading.Lock()

    def ensure(self) -> bool:
        self.calls.append("ensure")
        return False

    def acquire(self, lease_id: str, seconds: int) -> None:
        self.calls.append("acquire")
        if self.busy:
            self.busy -= 1
            raise AzureCallError("409 LeaseAlreadyPresent", code="LeaseAlreadyPresent", status=409)

    def renew(self, lease_id: str) -> None:
        with self.lock:
            self.calls.append("renew")
            if self.renew_errors:
                raise self.renew_errors.pop(0)

    def release(self, lease_id: str) -> None:
        self.calls.append("release")

    def set_metadata(self, lease_id: str | None, metadata: dict[str, str]) -> None:
        self.calls.append("metadata")
        self.meta = metadata

    def state(self):
        return SimpleNamespace(metadata=self.meta)


ALICE = Holder(run_id="run-a", who="alice", host="laptop", pid=77, command="provision", started="2026-12-01T00:00:00Z")


def test_waits_for_the_holder_then_takes_the_lock_and_names_itself():
    blob = FakeBlob(ALICE, free_after=2)
    said: list[str] = []
    lock = RunLock(blob, "staging", Holder(run_id="run-b", who="bob"), wait=5, poll=0.01, on_wait=said.append)
    lock.acquire()
    held = dict(blob.meta)
    lock.release()
    assert said == ["staging is locked by alice on laptop (pid 77, `provision`, run run-a, since "
                    "2026-12-01T00:00:00Z); waiting up to 5s"]
    assert blob.calls[:4] == ["ensure", "acquire", "acquire", "acquire"]
    assert held["holder"] == "bob" and held["runid"] == "run-b"
    assert blob.calls[-2:] == ["metadata", "release"] and blob.meta == {}  # the holder is cleared, then released


def test_gives_up_after_the_timeout_naming_the_holder():
    lock = RunLock(FakeBlob(ALICE, free_after=10**6), "production", Holder(who="bob"), wait=0.05, poll=0.01)
    with pytest.raises(LockTimeout, match=r"production is locked by alice on laptop \(pid 77.*run run-a"):
        lock.acquire()


def test_transient_renewal_failures_are_ridden_out_within_the_lease():
    blob = FakeBlob()
    blob.renew_errors = [AzureCallError("503", status=503, retryable=True)] * 2
    lock = RunLock(blob, "dev", Holder(who="bob"), lease_seconds=15, renew_seconds=0.02)
    lock.acquire()
    time.sleep(0.2)
    lock.check()  # still ours: two failed renewals, then good ones
    lock.release()
    assert lock.renewals >= 1 and lock.lost is None and "release" in blob.calls


def test_a_renewal_that_cannot_reach_storage_for_a_lease_period_loses_the_lock():
    blob = FakeBlob()
    blob.renew_errors = [AzureCallError("cannot reach", retryable=True)] * 1000
    now = [0.0]
    lock = RunLock(blob, "dev", Holder(who="bob"), lease_seconds=15, renew_seconds=0.01, clock=lambda: now[0])
    lock.acquire()
    now[0] = 15.0  # a whole lease period without a renewal: it may have lapsed
    deadline = time.monotonic() + 2
    while lock.lost is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(LeaseLost, match="could not renew the lease"):
        lock.check()
    lock.release()
    assert "release" not in blob.calls  # not ours any more: nothing to release


def test_a_taken_lease_is_lost_at_once():
    blob = FakeBlob()
    blob.renew_errors = [AzureCallError("409", code="LeaseIdMismatchWithLeaseOperation", status=409)]
    lock = RunLock(blob, "dev", Holder(who="bob"), renew_seconds=0.01)
    lock.acquire()
    time.sleep(0.1)
    with pytest.raises(LeaseLost, match=r"taken away \(LeaseIdMismatchWithLeaseOperation\)"):
        lock.check()
    lock.release()


def test_other_errors_on_acquire_are_not_waited_on():
    blob = FakeBlob()

    def forbidden(lease_id: str, seconds: int) -> None:
        raise AzureCallError("403 AuthorizationPermissionMismatch", code="AuthorizationPermissionMismatch", status=403)

    blob.acquire = forbidden  # type: ignore[method-assign]
    with pytest.raises(AzureCallError, match="403"):
        RunLock(blob, "dev", Holder(who="bob"), wait=60).acquire()


def test_metadata_is_plain_ascii_for_headers():
    meta = Holder(who="zoë  o'neil", host="h\tx", pid=1).metadata()
    assert meta["holder"] == "zo? o'neil" and meta["host"] == "h?x"


def test_bootstrap_creates_group_account_and_container_only_when_missing():
    """Against operation groups autospec'd from the real SDK: wrong method names or arguments fail."""
    from provisioner.operate.runlock import _ensure_account
    from tests.support import autospec_clients

    clients = autospec_clients()
    clients.resource.resource_groups.get.return_value = None
    clients.storage.storage_accounts.get_properties.side_effect = [None, {"name": "acct", "properties": {}}]
    clients.storage.blob_containers.get.return_value = None
    body = _ensure_account(clients, "ops-rg", "acct", "locks", "eastus", {"ManagedBy": "x"})
    assert body == {"name": "acct", "properties": {}}
    clients.resource.resource_groups.create_or_update.assert_called_once_with(
        "ops-rg", {"location": "eastus", "tags": {"ManagedBy": "x"}})
    args = clients.storage.storage_accounts.begin_create.call_args.args
    assert args[:2] == ("ops-rg", "acct") and args[2]["properties"]["allowBlobPublicAccess"] is False
    assert args[2]["properties"]["minimumTlsVersion"] == "TLS1_2"
    clients.storage.blob_containers.create.assert_called_once_with("ops-rg", "acct", "locks", {"properties": {}})

    again = autospec_clients()
    again.resource.resource_groups.get.return_value = {"name": "ops-rg"}
    again.storage.storage_accounts.get_properties.return_value = {"name": "acct"}
    again.storage.blob_containers.get.return_value = {"name": "locks"}
    _ensure_account(again, "ops-rg", "acct", "locks", "eastus", {})
    assert again.resource.resource_groups.create_or_update.call_count == 0  # nothing written when it all exists
    assert again.storage.storage_accounts.begin_create.call_count == 0
    assert again.storage.blob_containers.create.call_count == 0


def test_run_lock_settings_are_checked_naming_file_and_key(tmp_path):
    from tests.support import config_problems, copy_envs, edit_env

    envs = copy_envs(tmp_path)
    edit_env(envs, "common.toml", "lease_seconds = 60", "lease_seconds = 90")
    edit_env(envs, "common.toml", 'storage_account = "fundrboltopslocks"', 'storage_account = "Fundrbolt_Locks"')
    found = {(p.file.rsplit("/", 1)[-1], p.key) for p in config_problems(envs)}
    assert ("common.toml", "run_lock.lease_seconds") in found and ("common.toml", "run_lock.storage_account") in found

    envs = copy_envs(tmp_path / "second")
    edit_env(envs, "common.toml", "renew_seconds = 15", "renew_seconds = 40")
    [problem] = config_problems(envs)
    assert problem.key == "run_lock" and "at most half of lease_seconds" in problem.message
