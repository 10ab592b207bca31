"""The run lock's blob lease, the same scenarios against Azurite (the real Storage emulator) and the
local cloud: equal answers show the local cloud is as strict as the emulator on the subset we use."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from provisioner.azure import Clients, Target
from provisioner.azure.blobs import LeaseBlob, account_key_credential
from provisioner.core.errors import AzureCallError
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all
from provisioner.operate.lease import Holder, LeaseLost, LockTimeout, RunLock
from provisioner.operate.runlock import _ensure_account, _local_blob_endpoint
from tests.conftest import AZURITE_ACCOUNT, AZURITE_KEY
from tests.support import SUB

_names = itertools.count()


@pytest.fixture(scope="module")
def local_account(tmp_path_factory) -> Iterator[tuple[str, dict]]:
    tmp = tmp_path_factory.mktemp("blobcloud")
    with LocalCloud(state_file=tmp / "state.json") as cloud:
        register_all(cloud)  # a subscription in use (provider registration: test_azure_2026.py)
        clients = Clients(Target(SUB, cloud.url, local=True, polling_interval=0.02))
        _ensure_account(clients, "ops-rg", "opslocks", "locks", "eastus", {})
        keys = clients.storage.storage_accounts.list_keys("ops-rg", "opslocks")
        yield (f"{_local_blob_endpoint(cloud.url)}/opslocks",
               account_key_credential("opslocks", keys.as_dict()["keys"][0]["value"]))


@pytest.fixture(params=["azurite", "localcloud"])
def new_blob(request) -> Callable[[], LeaseBlob]:
    """A factory of fresh lock blobs on the chosen target."""
    if request.param == "azurite":
        from azure.storage.blob import BlobServiceClient

        url = request.getfixturevalue("azurite")
        credential = account_key_credential(AZURITE_ACCOUNT, AZURITE_KEY)
        service = BlobServiceClient(url, credential=credential)
        container = f"locks{uuid.uuid4().hex[:8]}"
        service.create_container(container)
    else:
        url, credential = request.getfixturevalue("local_account")
        container = "locks"
    return lambda: LeaseBlob(url, container, f"env{next(_names)}-{uuid.uuid4().hex[:6]}.lock", credential)


def _code(fn: Callable[[], object]) -> tuple[int | None, str | None]:
    with pytest.raises(AzureCallError) as info:
        fn()
    return info.value.status, info.value.code


A, B = str(uuid.uuid4()), str(uuid.uuid4())


def test_create_once_then_exists(new_blob):
    blob = new_blob()
    assert blob.ensure() is True
    assert blob.ensure() is False
    state = blob.state()
    assert (state.lease_state, state.lease_status) == ("available", "unlocked")


def test_acquire_is_exclusive_and_writes_need_the_lease(new_blob):
    blob = new_blob()
    blob.ensure()
    blob.acquire(A, 15)
    assert _code(lambda: blob.acquire(B, 15)) == (409, "LeaseAlreadyPresent")
    blob.acquire(A, 20)  # the holder may acquire again with its own id
    blob.set_metadata(A, {"holder": "alice", "runid": A})
    state = blob.state()
    assert (state.lease_state, state.lease_status, state.lease_duration) == ("leased", "locked", "fixed")
    assert state.metadata == {"holder": "alice", "runid": A}
    assert _code(lambda: blob.set_metadata(None, {"holder": "bob"})) == (412, "LeaseIdMissing")
    assert _code(lambda: blob.set_metadata(B, {"holder": "bob"})) == (412, "LeaseIdMismatchWithBlobOperation")
    assert blob.ensure() is False  # If-None-Match: * on an existing (leased) blob: refused, nothing written
    assert blob.state().metadata["holder"] == "alice"


def test_renew_and_release_need_the_right_id(new_blob):
    blob = new_blob()
    blob.ensure()
    blob.acquire(A, 15)
    blob.renew(A)
    assert _code(lambda: blob.renew(B)) == (409, "LeaseIdMismatchWithLeaseOperation")
    assert _code(lambda: blob.release(B)) == (409, "LeaseIdMismatchWithLeaseOperation")
    blob.release(A)
    assert blob.state().lease_state == "available"
    assert _code(lambda: blob.renew(A)) == (409, "LeaseIdMismatchWithLeaseOperation")  # released: gone
    blob.acquire(B, 15)  # released: free at once


def test_break_ends_the_lease_and_it_cannot_be_renewed(new_blob):
    blob = new_blob()
    blob.ensure()
    blob.acquire(A, 60)
    assert blob.break_lease(10) == 10
    assert blob.state().lease_state == "breaking"
    assert _code(lambda: blob.acquire(B, 15)) == (409, "LeaseAlreadyPresent")
    assert _code(lambda: blob.acquire(A, 15)) == (409, "LeaseIsBreakingAndCannotBeAcquired")
    assert blob.break_lease(0) == 0
    assert blob.state().lease_state == "broken"
    assert _code(lambda: blob.renew(A)) == (409, "LeaseIsBrokenAndCannotBeRenewed")
    blob.acquire(B, 15)


def test_lease_duration_must_be_15_to_60_seconds_or_infinite(new_blob):
    blob = new_blob()
    blob.ensure()
    assert _code(lambda: blob.acquire(A, 5))[0] == 400
    assert _code(lambda: blob.acquire(A, 61))[0] == 400
    blob.acquire(A, -1)
    assert blob.state().lease_duration == "infinite"


def test_run_lock_renews_names_its_holder_and_refuses_a_second_run(new_blob):
    blob = new_blob()
    first = RunLock(blob, "staging", Holder(who="alice", command="provision"), lease_seconds=15, renew_seconds=0.5)
    first.acquire()
    try:
        time.sleep(1.8)
        assert first.renewals >= 2
        first.check()
        second = RunLock(blob, "staging", Holder(who="bob"), lease_seconds=15, wait=0)
        with pytest.raises(LockTimeout) as info:
            second.acquire()
        message = str(info.value)
        assert "staging is locked by alice on" in message and first.holder.run_id in message
        assert f"pid {first.holder.pid}" in message
    finally:
        first.release()
    assert blob.state().lease_state == "available"


def test_a_run_that_loses_its_lease_stops_writing(new_blob):
    blob = new_blob()
    lock = RunLock(blob, "dev", Holder(who="alice"), lease_seconds=15, renew_seconds=0.3)
    lock.acquire()
    try:
        blob.break_lease(0)  # someone broke it by hand
        deadline = time.monotonic() + 5
        while lock.lost is None and time.monotonic() < deadline:
            time.sleep(0.05)
        with pytest.raises(LeaseLost, match="lost the run lock on dev: the lease was taken away"):
            lock.check()
    finally:
        lock.release()


def test_a_dead_holders_lease_is_taken_over_after_it_expires(new_blob):
    blob = new_blob()
    dead = RunLock(blob, "production", Holder(who="ci", host="runner-7", pid=4242), lease_seconds=15, renew_seconds=5)
    dead.acquire()
    dead._stop.set()  # as after kill -9: no renewal, no release
    said: list[str] = []
    started = time.monotonic()
    taker = RunLock(blob, "production", Holder(who="bob"), lease_seconds=15, wait=40, poll=0.5, on_wait=said.append)
    waiter = threading.Thread(target=taker.acquire)
    waiter.start()
    waiter.join(45)
    try:
        assert taker._held, "the expired lease was not taken over"
        waited = time.monotonic() - started
        assert 10 <= waited <= 25, waited  # about one lease period (15 s), no manual unlock
        assert said and "production is locked by ci on runner-7 (pid 4242" in said[0]
        assert blob.state().metadata["holder"] == "bob"
    finally:
        taker.release()
