"""Resource provider registration per subscription (Microsoft.Resources providers API): GET/list, register and
unregister, and the 409 MissingSubscriptionRegistration ARM answers a write to a namespace not registered."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from .errors import ArmError
from .ids import ArmPath
from .store import Store, read_json, write_json_atomic
from .wire import Reply, Request


class _Engine(Protocol):
    """What the providers API needs of the engine (engine.Engine), without importing it."""

    @property
    def store(self) -> Store: ...

    @property
    def latency(self) -> str: ...

    @property
    def time_scale(self) -> float: ...

# What a new subscription has registered ("Resource providers for Azure services", learn.microsoft.com/azure/
# azure-resource-manager/management/azure-services-resource-providers, "registered by default"). Everything else
# is NotRegistered until someone registers it (resource-providers-and-types: "Before you use a resource provider,
# you must make sure your Azure subscription is registered for the resource provider"). The local cloud's seeded
# subscription already holds a container registry (cloud.SHARED_REGISTRY), so ContainerRegistry is registered.
DEFAULT_REGISTERED = frozenset(n.lower() for n in (
    "Microsoft.ADHybridHealthService", "Microsoft.Authorization", "Microsoft.Billing", "Microsoft.ClassicSubscription",
    "Microsoft.Commerce", "Microsoft.Consumption", "Microsoft.CostManagement", "Microsoft.Features",
    "Microsoft.MarketplaceOrdering", "Microsoft.Portal", "Microsoft.ResourceGraph", "Microsoft.ResourceHealth",
    "Microsoft.Resources", "Microsoft.SerialConsole", "microsoft.support", "Microsoft.ContainerRegistry"))
# Namespaces this cloud knows (anything else is InvalidResourceNamespace, as ARM answers a namespace that does
# not exist).
KNOWN = ("Microsoft.Web", "Microsoft.DBforPostgreSQL", "Microsoft.Cache", "Microsoft.KeyVault", "Microsoft.Storage",
         "Microsoft.OperationalInsights", "Microsoft.Insights", "Microsoft.Network", "Microsoft.Communication",
         "Microsoft.AlertsManagement", "Microsoft.ManagedIdentity", "Microsoft.Compute", "Microsoft.ContainerRegistry",
         "Microsoft.Consumption", "Microsoft.Authorization", "Microsoft.Resources", "Microsoft.Features")
REGISTER_SECONDS = 60.0  # realistic: "registration can take a few minutes" (resource-providers-and-types)

_PROVIDER = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+)(?:/(register|unregister))?$", re.IGNORECASE)
_LIST = re.compile(r"^/subscriptions/([^/]+)/providers$", re.IGNORECASE)


class Registrations:
    """subscription -> namespace -> (state, time it settles); kept in a side file next to the state."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, list[Any]]] = read_json(path, {}) or {}

    def state(self, subscription: str, namespace: str) -> str:
        with self._lock:
            entry = self._data.get(subscription.lower(), {}).get(namespace.lower())
        if entry is None:
            return "Registered" if namespace.lower() in DEFAULT_REGISTERED else "NotRegistered"
        state, settles = entry
        if state in ("Registering", "Unregistering") and time.time() >= settles:
            return "Registered" if state == "Registering" else "NotRegistered"
        return str(state)

    def change(self, subscription: str, namespace: str, state: str, seconds: float) -> None:
        with self._lock:
            self._data.setdefault(subscription.lower(), {})[namespace.lower()] = [state, time.time() + seconds]
            if self.path is not None:
                write_json_atomic(self.path, self._data)


def registrations(engine: _Engine) -> Registrations:
    """The cloud's registrations, created on first use (a side file next to the state file, like the others)."""
    found = getattr(engine, "_registrations", None)
    if found is None:
        state = engine.store.path
        found = Registrations(state.with_name(state.name + ".providers.json") if state else None)
        engine._registrations = found  # type: ignore[attr-defined]
    return found


def _canonical(namespace: str) -> str | None:
    return next((n for n in KNOWN if n.lower() == namespace.lower()), None)


def _body(engine: _Engine, subscription: str, namespace: str) -> dict[str, Any]:
    """The shape of azure-mgmt-resource's Provider (GET /subscriptions/{id}/providers/{namespace})."""
    return {"id": f"/subscriptions/{subscription}/providers/{namespace}", "namespace": namespace,
            "registrationState": registrations(engine).state(subscription, namespace),
            "registrationPolicy": "RegistrationRequired", "resourceTypes": []}


def route(engine: _Engine, req: Request) -> Reply | None:
    """The providers API, or None when `req` is not for it."""
    if _LIST.match(req.path) and req.method == "GET":
        sub = _LIST.match(req.path)[1]  # type: ignore[index]
        return Reply(200, {"value": [_body(engine, sub, ns) for ns in KNOWN]})
    found = _PROVIDER.match(req.path)
    if found is None:
        return None
    sub, asked, action = found[1], found[2], (found[3] or "").lower()
    namespace = _canonical(asked)
    if namespace is None:
        raise ArmError(404 if not action else 400, "InvalidResourceNamespace",
                       f"The resource namespace '{asked}' is invalid.")
    if not action and req.method == "GET":
        return Reply(200, _body(engine, sub, namespace))
    if action and req.method == "POST":
        current = registrations(engine).state(sub, namespace)
        seconds = 0.0 if engine.latency == "fast" else REGISTER_SECONDS * engine.time_scale
        if action == "register" and current != "Registered":
            registrations(engine).change(sub, namespace, "Registering", seconds)
        elif action == "unregister" and current != "NotRegistered":
            registrations(engine).change(sub, namespace, "Unregistering", seconds)
        body = _body(engine, sub, namespace)
        if seconds and body["registrationState"] in ("Registered", "NotRegistered") and current != body["registrationState"]:
            body["registrationState"] = "Registering" if action == "register" else "Unregistering"
        return Reply(200, body, write=True)
    raise ArmError(405, "MethodNotAllowed", f"The method '{req.method}' is not allowed on '{req.path}'.")


def require(engine: _Engine, path: ArmPath) -> None:
    """A write to a namespace the subscription has not registered: 409 MissingSubscriptionRegistration, worded and
    shaped as ARM answers it (details with the namespace as target; Azure/azure-sdk-for-node#2305,
    nforgeio/neonKUBE#1670). azure-mgmt-core's ARMAutoResourceProviderRegistrationPolicy reads this shape."""
    if not path.subscription or not path.namespace or path.is_group or _canonical(path.namespace) is None:
        return  # a namespace this cloud does not model (the generic types of its own tests): not gated
    state = registrations(engine).state(path.subscription, path.namespace)
    if state == "Registered":
        return
    message = (f"The subscription is not registered to use namespace '{path.namespace}'. See "
               "https://aka.ms/rps-not-found for how to register subscriptions.")
    error = ArmError(409, "MissingSubscriptionRegistration", message)
    error.details = [{"code": "MissingSubscriptionRegistration", "target": path.namespace, "message": message}]
    raise error


def register_all(cloud: Any, subscription: str = "00000000-0000-0000-0000-000000000000") -> None:
    """Mark every namespace this cloud knows as registered, as in a subscription already in use (fixtures of tests
    that write with a bare SDK client, not through the tool, which registers what it needs itself). In process:
    no request is logged, so request-log assertions see only what the test does."""
    for namespace in KNOWN:
        registrations(cloud.engine).change(subscription, namespace, "Registering", 0.0)
