"""Blue-green deploy and rollback of the API through the staging slot, with health gates on both sides.

deploy: set the image on the slot -> the slot answers its health path with 200 -> optional pre-swap hook
(migrations) -> swap into production -> production answers 200, else swap back at once. Without a slot
(dev on Basic) the image is set on the site in place and checked, and the previous image is restored when
the check fails. rollback: the previous version is on the slot after a deploy; check it, swap it back.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core import redact
from provisioner.core.errors import ProvisionerError
from provisioner.operate.health import Endpoint, Probe, Verdict, probe, wait_healthy

# REPO[:PORT]/PATH:TAG or REPO@sha256:DIGEST; a deploy names an exact version, never an implicit "latest".
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._\-/:]*(?::[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}|@sha256:[0-9a-f]{64})$")


class DeployFailed(ProvisionerError):
    """A deploy or rollback check failed; the message names the check and what was done about it."""


def check_image(image: str) -> str:
    """The linuxFxVersion for an image reference, or a clear error before any request."""
    last = image.rsplit("/", 1)[-1]
    if not IMAGE.match(image) or (":" not in last and "@" not in last):
        raise DeployFailed(f"--image {image!r}: expected REPO:TAG or REPO@sha256:DIGEST (lower-case repository, "
                           "an explicit tag)")
    return f"DOCKER|{image}"


def image_of(linux_fx_version: str | None) -> str:
    value = linux_fx_version or ""
    return value.split("|", 1)[1] if value.upper().startswith("DOCKER|") else value


@dataclass(frozen=True)
class BackendTarget:
    resource_group: str
    site: str
    slot: str | None  # None where the plan has no slots (dev on Basic B1)
    health_path: str


def backend_target(session: Any) -> BackendTarget:
    """The API's site, its slot (when the environment has one) and the health path, from the session's steps."""
    by_name = {s.name: s for s in session.steps}
    web = by_name["web_app"]
    slot = by_name.get("deployment_slot")
    return BackendTarget(web.resource_group, web.resource_name, slot.resource_name if slot else None,
                         web.config.health_check_path)


@dataclass(frozen=True)
class Gates:
    timeout: float = 300.0  # per health gate: how long a new container may take to answer 200
    interval: float = 10.0
    check: Probe = probe


class Backend:
    """The SDK calls a deploy makes, on the site or its slot (slot=None is production)."""

    def __init__(self, clients: Any, target: BackendTarget, gates: Gates, say: Callable[[str], None]):
        self.clients = clients
        self.web = clients.web.web_apps
        self.t = target
        self.gates = gates
        self.say = say
        # Local targets: the site's host name does not resolve; the local cloud answers it on its own URL.
        self.local_url = clients.target.arm_endpoint if clients.target.local else None

    def where(self, slot: str | None) -> str:
        return f"slot '{slot}'" if slot else "production"

    def image(self, slot: str | None) -> str:
        rg, site = self.t.resource_group, self.t.site
        body = (raw(self.web.get_configuration_slot, rg, site, slot) if slot
                else raw(self.web.get_configuration, rg, site))
        if body is None:
            raise DeployFailed(f"{site}: {self.where(slot)} not found: provision the environment first")
        return image_of((body.get("properties") or {}).get("linuxFxVersion"))

    def set_image(self, image: str, slot: str | None) -> None:
        # PATCH config/web with the image alone: nothing else the environment declares is touched.
        body = {"properties": {"linuxFxVersion": f"DOCKER|{image}"}}
        rg, site = self.t.resource_group, self.t.site
        if slot:
            call(self.web.update_configuration_slot, rg, site, slot, body)
        else:
            call(self.web.update_configuration, rg, site, body)

    def endpoint(self, slot: str | None) -> Endpoint:
        rg, site = self.t.resource_group, self.t.site
        body = raw(self.web.get_slot, rg, site, slot) if slot else raw(self.web.get, rg, site)
        host = ((body or {}).get("properties") or {}).get("defaultHostName")
        if not host:
            raise DeployFailed(f"{site}: {self.where(slot)} has no host name: provision the environment first")
        return Endpoint(str(host), self.t.health_path, self.local_url)

    def gate(self, slot: str | None) -> tuple[Verdict, Endpoint]:
        endpoint = self.endpoint(slot)
        self.say(f"waiting for {endpoint.url} to answer 200 (up to {self.gates.timeout:.0f}s)")
        verdict = wait_healthy(endpoint, self.gates.timeout, self.gates.interval, self.gates.check)
        return verdict, endpoint

    def swap(self) -> None:
        """POST .../slots/{slot}/slotsswap with targetSlot=production: an LRO, and not idempotent (a second
        swap swaps back), so it is never part of reconciliation (azure-sdk-facts §1 Slot swap)."""
        assert self.t.slot is not None
        self.say(f"swapping slot '{self.t.slot}' into production")
        wait(call(self.web.begin_swap_slot, self.t.resource_group, self.t.site, self.t.slot,
                  {"targetSlot": "production", "preserveVnet": True}))


def _failed(what: str, verdict: Verdict, endpoint: Endpoint) -> str:
    return (f"{what} health check failed: {endpoint.url} answered {verdict.last} "
            f"(last of {verdict.attempts} probe(s) over {verdict.seconds:.0f}s)")


def run_hook(command: str, env_name: str, image: str, slot_url: str, say: Callable[[str], None]) -> None:
    """The pre-swap hook (e.g. Alembic migrations): runs after the slot is healthy, before the swap."""
    # The operator's command line may carry a credential (a DSN, `DB_PASS=...`): shown through the masker.
    say(f"running the pre-swap hook: {redact.scrub(command)}")
    env = {**os.environ, "DEPLOY_ENV": env_name, "DEPLOY_IMAGE": image, "DEPLOY_SLOT_URL": slot_url}
    # Its output goes to stderr with ours: stdout carries only the command's result line.
    code = subprocess.run(command, shell=True, env=env, check=False,  # noqa: S602 - the operator's command
                          stdout=sys.stderr).returncode
    if code != 0:
        raise DeployFailed(f"pre-swap hook failed (exit {code}): {redact.scrub(command)}")


def deploy_backend(backend: Backend, env_name: str, image: str, pre_swap: str | None = None) -> str:
    """Deploy `image`; returns the closing line, raises DeployFailed naming the failed check."""
    check_image(image)
    say, slot = backend.say, backend.t.slot
    if slot is None:
        return _deploy_in_place(backend, image)
    previous_prod = backend.image(None)
    previous_slot = backend.image(slot)
    say(f"production runs {previous_prod or '(no image)'}; setting {image} on slot '{slot}'")
    backend.set_image(image, slot)
    verdict, endpoint = backend.gate(slot)
    if not verdict.healthy:
        _restore(backend, previous_slot, slot)
        raise DeployFailed(_failed(f"slot '{slot}'", verdict, endpoint)
                           + f"; production unchanged ({previous_prod}), slot restored to {previous_slot}")
    if pre_swap:
        try:
            run_hook(pre_swap, env_name, image, endpoint.url, say)
        except DeployFailed as exc:
            _restore(backend, previous_slot, slot)
            raise DeployFailed(f"{exc}; nothing was swapped, production unchanged ({previous_prod})") from None
    backend.swap()
    verdict, endpoint = backend.gate(None)
    if not verdict.healthy:
        say("production is unhealthy after the swap: swapping back")
        backend.swap()
        raise DeployFailed(_failed("production", verdict, endpoint)
                           + f" after the swap; swapped back, production runs {backend.image(None)}")
    return f"production runs {image}; slot '{slot}' holds the previous {previous_prod} (rollback swaps it back)"


def _restore(backend: Backend, previous: str, slot: str) -> None:
    # The slot keeps what production ran before (the rollback target), not a version that failed its checks.
    if previous:
        backend.say(f"restoring slot '{slot}' to {previous}")
        backend.set_image(previous, slot)


def _deploy_in_place(backend: Backend, image: str) -> str:
    say = backend.say
    previous = backend.image(None)
    say(f"{backend.t.site} has no deployment slot (its plan tier has none): deploying in place, "
        "the site restarts on the new image")
    backend.set_image(image, None)
    verdict, endpoint = backend.gate(None)
    if not verdict.healthy:
        if previous:
            say(f"restoring the previous image {previous}")
            backend.set_image(previous, None)
        raise DeployFailed(_failed("production (in place)", verdict, endpoint)
                           + (f"; restored the previous image {previous}" if previous else ""))
    return f"production runs {image} (in place, no slot; previous image {previous or '(none)'})"


def rollback(backend: Backend) -> str:
    """Swap the slot's previous version back into production, with the same gates as a deploy."""
    slot = backend.t.slot
    if slot is None:
        raise DeployFailed(f"{backend.t.site} has no deployment slot to roll back from: deploy the previous "
                           "image instead (provisioner deploy backend --image REPO:TAG)")
    current, previous = backend.image(None), backend.image(slot)
    if not previous or previous == current:
        raise DeployFailed(f"slot '{slot}' runs the same image as production ({current}): nothing to roll back to")
    backend.say(f"production runs {current}; rolling back to {previous} from slot '{slot}'")
    verdict, endpoint = backend.gate(slot)
    if not verdict.healthy:
        raise DeployFailed(_failed(f"slot '{slot}'", verdict, endpoint) + f"; production unchanged ({current})")
    backend.swap()
    verdict, endpoint = backend.gate(None)
    if not verdict.healthy:
        backend.say("production is unhealthy after the swap: swapping back")
        backend.swap()
        raise DeployFailed(_failed("production", verdict, endpoint)
                           + f" after the swap; swapped back, production runs {backend.image(None)}")
    return f"production runs {previous}; slot '{slot}' holds {current}"
