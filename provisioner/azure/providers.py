"""Resource providers the environment's types need: checked before any write and registered where the identity
may, so no step meets 409 MissingSubscriptionRegistration halfway through a run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from provisioner.azure.calls import call
from provisioner.core.errors import AzureCallError, TargetError

# Registered in every subscription from the start ("Resource providers for Azure services", registered by default):
# never asked about.
ALWAYS = frozenset({"microsoft.resources", "microsoft.authorization", "microsoft.consumption", "microsoft.features"})


def namespaces(types: Iterable[str]) -> list[str]:
    """Pure: the provider namespaces of ARM resource types ('Microsoft.Web/sites/config' -> 'Microsoft.Web'), once
    each, in first-seen order, without those every subscription has."""
    out: dict[str, str] = {}
    for type_name in types:
        namespace = type_name.split("/", 1)[0]
        if namespace.lower() not in ALWAYS:
            out.setdefault(namespace.lower(), namespace)
    return list(out.values())


def ensure_registered(clients: object, needed: Iterable[str], poll: float, deadline: float,
                      tell: Callable[[str], None]) -> list[str]:
    """Register every namespace in `needed` that is not, and wait until each is Registered (Azure takes up to a
    few minutes: learn.microsoft.com/azure/azure-resource-manager/management/resource-providers-and-types).
    Returns the namespaces this run registered. A namespace the identity may not register (403: registering needs
    `<namespace>/register/action`, which Contributor and Owner hold and Reader does not) is a TargetError naming
    every such namespace and the command a person with the right runs, before anything is written."""
    providers = clients.resource.providers  # type: ignore[attr-defined]
    missing = [ns for ns in needed if _state(providers, ns) != "Registered"]
    refused: list[str] = []
    for ns in missing:
        try:
            call(providers.register, ns)
        except AzureCallError as exc:
            if exc.status != 403 and exc.code not in ("AuthorizationFailed", "LinkedAuthorizationFailed"):
                raise
            refused.append(ns)
    if refused:
        commands = "; ".join(f"`az provider register --wait --namespace {ns}`" for ns in refused)
        subscription = getattr(getattr(clients, "target", None), "subscription_id", "") or "the subscription"
        raise TargetError(
            f"resource provider(s) {', '.join(refused)} are not registered in subscription {subscription} and this "
            "identity may not register them (<namespace>/register/action; Contributor or Owner on the subscription "
            f"has it): ask someone who may to run {commands}, then re-run. Nothing was written.")
    if missing:
        tell(f"Registering resource provider(s) {', '.join(missing)} in the subscription (MissingSubscriptionRegistration "
             "otherwise); Azure can take a few minutes")
    waiting = list(missing)
    stop = time.monotonic() + deadline
    while waiting:
        waiting = [ns for ns in waiting if _state(providers, ns) != "Registered"]
        if not waiting:
            break
        if time.monotonic() > stop:
            raise TargetError(f"resource provider(s) {', '.join(waiting)} still not Registered after {deadline:.0f}s; "
                              "check `az provider show --namespace <namespace>` and re-run")
        time.sleep(poll)
    return missing


def _state(providers: object, namespace: str) -> str:
    return str(getattr(call(providers.get, namespace), "registration_state", "") or "")  # type: ignore[attr-defined]
