"""Blue-green deploy and rollback of the API through the staging slot, each step proving itself.

deploy: image and deploy marker on the slot -> the slot answers 200 *as the new version* (the old container
answers until the new one has started) -> optional pre-swap hook (migrations) -> swap (App Service warms the
slot on the health path first) -> the rollback record on the site -> production watched for a short while,
swapped back within Gates.swap_back_within on bad answers. Deploying what production runs is a no-op.
rollback: the recorded previous version onto the slot if it is not there, the same checks, swap, and the
record cleared so a second rollback never swaps the bad version back in. Without a slot (dev on Basic) both
happen in place. docs/operations.md explains each step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from provisioner.core import redact
from provisioner.core.errors import AzureCallError
from provisioner.operate.backend import Backend, BackendTarget, DeployFailed, Gates, backend_target, image_of
from provisioner.operate.deploy_record import Record, after_deploy, after_rollback, rollback_refusal
from provisioner.operate.health import Endpoint, Verdict
from provisioner.operate.migrations import DbAccess

__all__ = ["Backend", "BackendTarget", "DeployFailed", "Gates", "backend_target", "check_image", "deploy_backend",
           "image_of", "rollback"]

# REPO[:PORT]/PATH:TAG or REPO@sha256:DIGEST; a deploy names an exact version, never an implicit "latest".
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._\-/:]*(?::[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}|@sha256:[0-9a-f]{64})$")
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def check_image(image: str) -> str:
    """The linuxFxVersion for an image reference, or a clear error before any request."""
    last = image.rsplit("/", 1)[-1]
    if not IMAGE.match(image) or (":" not in last and "@" not in last):
        raise DeployFailed(f"--image {image!r}: expected REPO:TAG or REPO@sha256:DIGEST (lower-case repository, "
                           "an explicit tag)")
    return f"DOCKER|{image}"


def _failed(what: str, verdict: Verdict, endpoint: Endpoint, expected: str) -> str:
    last = verdict.last
    if last.status == "200" and last.marker != expected:
        seen = repr(last.marker) if last.marker is not None else "no deploy_marker (see the app's health contract)"
        return (f"{what} still serves another version: {endpoint.url} answered 200 with {seen}, not {expected!r} "
                f"(last of {verdict.attempts} probe(s) over {verdict.seconds:.0f}s; the new container has not "
                "started, or the app does not echo DEPLOY_MARKER)")
    return (f"{what} health check failed: {endpoint.url} answered {last} "
            f"(last of {verdict.attempts} probe(s) over {verdict.seconds:.0f}s)")


def run_hook(command: str, env_name: str, image: str, slot_url: str, say: Callable[[str], None],
             db: DbAccess | None = None) -> None:
    """The pre-swap hook (e.g. Alembic migrations): runs after the slot serves the new version, before the swap
    (without a slot: before the site restarts on it, DEPLOY_SLOT_URL empty), with the database's URL and a fresh
    Entra token as its password when `db` is given (migrations.py)."""
    # The operator's command line may carry a credential (a DSN, `DB_PASS=...`): shown through the masker.
    say(f"running the pre-swap hook: {redact.scrub(command)}"
        + (f" (signed in to {db.fqdn} as {db.user})" if db else ""))
    env = {**os.environ, "DEPLOY_ENV": env_name, "DEPLOY_IMAGE": image, "DEPLOY_SLOT_URL": slot_url,
           **(db.env() if db else {})}
    # Its output goes to stderr with ours: stdout carries only the command's result line.
    code = subprocess.run(command, shell=True, env=env, check=False,  # noqa: S602 - the operator's command
                          stdout=sys.stderr).returncode
    if code != 0:
        raise DeployFailed(f"pre-swap hook failed (exit {code}): {redact.scrub(command)}")


def deploy_backend(backend: Backend, env_name: str, image: str, pre_swap: str | None = None,
                   now: Clock = _now, redeploy: bool = False, db: DbAccess | None = None) -> str:
    """Deploy `image`; returns the closing line, raises DeployFailed naming the failed check. `redeploy` (the
    recovery drill) goes through every step even for the version production runs, and keeps the record."""
    check_image(image)
    production = backend.image(None)
    record = backend.record()
    same = production == image
    if same and not redeploy:
        # Re-deploying what runs would put the running version in the slot too and lose the rollback target.
        return (f"production already runs {image}: nothing to deploy; the rollback target stays "
                f"{record.previous or '(none recorded)'}")
    _check_registry(backend, image)
    if pre_swap and db is not None:
        db.check()  # the hook's sign-in works from here, before anything changes
    if backend.t.slot is None:
        if pre_swap:
            # No slot to try the new version in first: the migrations run before the site restarts on it, while the
            # running version serves (it must tolerate the new schema, as it does during a slot deploy's hook).
            run_hook(pre_swap, env_name, image, "", backend.say, db)
        return _deploy_in_place(backend, image, production, now, record_it=not same)
    slot, say = backend.t.slot, backend.say
    previous_slot, previous_marker = backend.image(slot), backend.marker(slot)
    say(f"production runs {production or '(no image)'}; setting {image} on slot '{slot}'")
    backend.set_version(image, image, slot)
    verdict, endpoint = backend.gate(slot, image)
    if not verdict.healthy:
        _restore(backend, previous_slot, previous_marker, slot)
        raise DeployFailed(_failed(f"slot '{slot}'", verdict, endpoint, image)
                           + f"; nothing was swapped, production unchanged ({production}), slot restored to "
                             f"{previous_slot}")
    if pre_swap:
        try:
            run_hook(pre_swap, env_name, image, endpoint.url, say, db)
        except DeployFailed as exc:
            _restore(backend, previous_slot, previous_marker, slot)
            raise DeployFailed(f"{exc}; nothing was swapped, production unchanged ({production})") from None
    _swap_or_fail(backend, f"production unchanged ({production})")
    if not same:  # a redeploy of the same version keeps the rollback target as it was
        backend.write_record(after_deploy(image, production, now()))
    _watch_or_swap_back(backend, image, record)
    return (f"production runs {image}; slot '{slot}' holds the previous {production} "
            f"(provisioner rollback swaps it back)")


def rollback(backend: Backend, outside_window: bool = False, now: Clock = _now) -> str:
    """Restore the recorded previous version, with the same checks as a deploy; never toggles forward."""
    production = backend.image(None)
    record = backend.record()
    refusal = rollback_refusal(record, production, now(), outside_window)
    if refusal:
        raise DeployFailed(refusal)
    target = str(record.previous)
    if backend.t.slot is None:
        return _rollback_in_place(backend, target, production, now)
    slot, say = backend.t.slot, backend.say
    on_slot, slot_marker = backend.image(slot), backend.marker(slot)
    say(f"production runs {production}; rolling back to {target}"
        + (f" (on slot '{slot}')" if on_slot == target else f" (setting it on slot '{slot}', which holds {on_slot})"))
    backend.set_version(target, target, slot)
    verdict, endpoint = backend.gate(slot, target)
    if not verdict.healthy:
        _restore(backend, on_slot, slot_marker, slot)
        raise DeployFailed(_failed(f"slot '{slot}'", verdict, endpoint, target) + f"; production unchanged ({production})")
    _swap_or_fail(backend, f"production unchanged ({production})")
    backend.write_record(after_rollback(target, now()))
    _watch_or_swap_back(backend, target, record)
    return (f"production runs {target} again; slot '{slot}' holds {production}; no earlier version is recorded, "
            "so a second rollback is refused (deploy an explicit image instead)")


def _swap_or_fail(backend: Backend, unchanged: str) -> None:
    try:
        backend.swap()
    except AzureCallError as exc:
        if exc.status in (401, 403):
            # Refused before it started: the identity lacks slotsswap/action. An error of the run (a drill says
            # ERROR, not that the version failed its checks); Azure's message names the action and the scope.
            raise
        # App Service reverts a swap that fails (warm-up answer not in WEBSITE_SWAP_WARMUP_PING_STATUSES, an
        # instance that does not restart): production keeps serving what it served.
        raise DeployFailed(f"the swap did not complete: {exc}; {unchanged}") from None


def _watch_or_swap_back(backend: Backend, expected: str, before: Record) -> None:
    verdict, endpoint = backend.watch(expected)
    if verdict.healthy:
        return
    backend.say(f"production answered {verdict.last} after the swap: swapping back")
    backend.swap()
    backend.write_record(before)
    raise DeployFailed(_failed("production", verdict, endpoint, expected)
                       + f" after the swap; swapped back after {verdict.seconds:.1f}s, production runs "
                         f"{backend.image(None)}")


def _check_registry(backend: Backend, image: str) -> None:
    """The image must be in its registry before anything is changed: a name nothing built fails here, in one
    line, rather than as a container that never starts on the slot."""
    if backend.in_registry is None:
        return
    found = backend.in_registry(backend.clients, image)
    if found is False:
        raise DeployFailed(f"{image} is not in its registry (no such repository or tag): push or import it "
                           "first; nothing was changed")
    backend.say(f"{image} is in its registry" if found else f"{image} is not in an Azure Container Registry: "
                "not checked before the deploy")


def _restore(backend: Backend, image: str, marker: str, slot: str | None) -> None:
    # The slot keeps what production ran before (the rollback target), not a version that failed its checks.
    if image:
        backend.say(f"restoring {backend.where(slot)} to {image}")
        backend.set_version(image, marker or image, slot)


def _deploy_in_place(backend: Backend, image: str, production: str, now: Clock, record_it: bool = True) -> str:
    say = backend.say
    marker = backend.marker(None)
    say(f"{backend.t.site} has no deployment slot (its plan tier has none): deploying in place, "
        "the site restarts on the new image")
    backend.set_version(image, image, None)
    verdict, endpoint = backend.gate(None, image)
    if not verdict.healthy:
        _restore(backend, production, marker, None)
        raise DeployFailed(_failed("production (in place)", verdict, endpoint, image)
                           + (f"; restored the previous image {production}" if production else ""))
    if record_it:
        backend.write_record(after_deploy(image, production, now()))
    return (f"production runs {image} (in place, no slot); previous image {production or '(none)'} recorded: "
            "provisioner rollback restores it")


def _rollback_in_place(backend: Backend, target: str, production: str, now: Clock) -> str:
    marker = backend.marker(None)
    backend.say(f"{backend.t.site} has no deployment slot: restoring the previous image {target} in place "
                f"(production runs {production})")
    backend.set_version(target, target, None)
    verdict, endpoint = backend.gate(None, target)
    if not verdict.healthy:
        _restore(backend, production, marker, None)
        raise DeployFailed(_failed("production (in place)", verdict, endpoint, target)
                           + f"; restored {production}")
    backend.write_record(after_rollback(target, now()))
    return f"production runs {target} again (in place); a second rollback is refused (deploy an explicit image)"

