"""Public DNS reachability of the environment's zone: the delegations the apex zone holds (NS record sets) and
the check every step that needs a validated name (bindings, certificates, e-mail) makes before it writes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from provisioner.azure import call, raw
from provisioner.core.errors import AzureCallError, ConfigProblem, ProvisionerError, Waiting
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps import dns_zone
from steps._base import ArmStep, rules
from steps._fields import SdkModel, record_set_absent, record_set_not_managed

SECTION = None  # configured by [dns] (steps/dns_zone.py): parent_environment, parent_resource_group, delegations

# Azure resource group names: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'.
RESOURCE_GROUP = re.compile(r"[-\w.()]{0,89}[-\w()]")


def _fold(name: Any) -> str:
    return str(name or "").lower().rstrip(".")


def name_servers(zone_body: dict | None) -> list[str]:
    return [_fold(n) for n in ((zone_body or {}).get("properties") or {}).get("nameServers") or []]


def parent_zone(env: EnvironmentSpec) -> str:
    return env.resource_name("dns_zone").split(".", 1)[1]


def reachability(clients: Any, env: EnvironmentSpec, zone_body: dict | None) -> str | None:
    """None when the environment's zone answers in public DNS, else what a person must do first.

    A sub-zone is found only through NS records in its parent zone naming its own name servers (RFC 1034
    §4.2.2; "Delegate a subdomain", https://learn.microsoft.com/azure/dns/delegate-subdomain), and Azure DNS
    assigns those name servers when the zone is created, so only the parent's owner can write them, after
    this zone exists. The apex zone itself is reachable once the registrar lists its name servers: the
    docs/environments.md says so; no ARM call can check a registrar."""
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    if not dns.parent_environment:
        return None
    zone, parent, label = env.resource_name("dns_zone"), parent_zone(env), env.resource_name("dns_zone").split(".")[0]
    run_parent = f"run `provisioner provision --env {dns.parent_environment}`"
    try:
        parent_body = raw(clients.dns.zones.get, dns.parent_resource_group, parent)
        delegation = raw(clients.dns.record_sets.get, dns.parent_resource_group, parent, label, "NS") if parent_body else None
    except ProvisionerError as exc:
        return (f"cannot read the delegation of {zone} in {parent} ({dns.parent_resource_group}): {exc}; give this "
                f"identity Reader on that zone, or check the NS record {label}.{parent} by hand")
    if parent_body is None:
        return f"delegate {zone}: {dns.parent_environment} has not run yet (no zone {parent}); {run_parent}, then re-run"
    if zone_body is None:
        return f"delegate {zone}: the zone is created by this run, then {dns.parent_environment} delegates it; {run_parent}, then re-run"
    served = sorted(_fold(r.get("nsdname")) for r in ((delegation or {}).get("properties") or {}).get("NSRecords") or [])
    if not served:
        return f"delegate {zone}: {parent} has no NS record {label!r} yet; {run_parent}, then re-run"
    if served != sorted(name_servers(zone_body)):
        return (f"delegate {zone}: {parent} points {label!r} at other name servers ({', '.join(served)}); "
                f"{run_parent} to refresh the delegation, then re-run")
    return None


# Azure's answers when it cannot find a host name's proof in public DNS (steps/custom_domain.py cites them).
_DNS_REFUSALS = ("A CNAME record pointing from", "A TXT record pointing from", "CNAME Record is invalid")


@contextmanager
def validated_through_dns(env: EnvironmentSpec, host: str) -> Iterator[None]:
    """Turn Azure's "record not found" refusal into waiting: the records are ours, so what is missing is
    outside the run (the registrar's name servers for the apex, or resolvers still caching the answer from
    before the delegation). The next run retries. App Service refuses a binding at once (400); Static Web Apps
    accept the custom domain and fail it through its long-running operation (the poll answers 200 with the
    operation's error), so any status with Azure's wording counts."""
    try:
        yield
    except AzureCallError as exc:
        if exc.status not in (400, 200, None) or not any(r.lower() in str(exc).lower() for r in _DNS_REFUSALS):
            raise
        apex = ".".join(env.resource_name("dns_zone").split(".")[-2:])
        raise Waiting(f"Azure cannot see the DNS records of {host} yet ({exc}): if the registrar of {apex} does not "
                      "list the apex zone's name servers, set them (docs/environments.md, Order of first runs); a new delegation "
                      "can also take a while to reach resolvers. The next run retries") from None


class NeedsPublicDns:
    """Mixin for steps whose write Azure validates through public DNS: waits (not fails) while the zone is
    not reachable. Put it before the step's base class."""

    _dns_waiting: str | None = None

    def gather(self, clients: Any, known: Any) -> None:
        super().gather(clients, known)  # type: ignore[misc]
        self._dns_waiting = reachability(clients, self.env, known.get("dns_zone"))  # type: ignore[attr-defined]

    def precondition(self, known: Any) -> str | None:
        return self._dns_waiting


class Delegation(ArmStep):
    """NS record set <label> in the apex zone naming a sub-zone's name servers, read from that zone (in the
    environment that owns it, another resource group) when it exists."""

    type = "Microsoft.Network/dnsZones/NS"
    model = SdkModel("azure.mgmt.dns.models", "RecordSet")
    not_managed = record_set_not_managed("properties.NSRecords")
    # A record set is an unordered RRset (RFC 2181 §5); host names compare folded and without the root dot.
    rules = rules(Rules(sets=("properties.NSRecords",), normalizers=(("properties.NSRecords*.nsdname", _fold),),
                        absent=record_set_absent("properties.NSRecords")))

    def __init__(self, env: EnvironmentSpec, name: str, label: str, child_group: str):
        super().__init__(env, name, label)
        self.child_group = child_group
        self._servers: list[str] | None = None
        self._unreadable: str | None = None

    @property
    def depends_on(self) -> tuple[str, ...]:
        return ("dns_zone",)

    @property
    def zone(self) -> str:
        return self.env.resource_name("dns_zone")

    @property
    def child(self) -> str:
        return f"{self.resource_name}.{self.zone}"

    def parent_path(self) -> str | None:
        return f"dnsZones/{self.zone}"

    def gather(self, clients: Any, known: Any) -> None:
        self._unreadable = None
        try:
            body = raw(clients.dns.zones.get, self.child_group, self.child)
        except ProvisionerError as exc:  # e.g. 403: this identity may not read the other environment's group
            body, self._unreadable = None, str(exc)
        self._servers = name_servers(body) if body else None

    def precondition(self, known: Any) -> str | None:
        if self._unreadable:
            return (f"cannot read {self.child} in {self.child_group} ({self._unreadable}): give this identity Reader "
                    f"on that zone; the next run of {self.env.name} delegates it")
        if self._servers is None:
            return (f"{self.child} does not exist yet in {self.child_group}: its environment has not run; "
                    f"the next run of {self.env.name} delegates it")
        return None

    def desired(self, known: Any) -> dict[str, Any]:
        ttl = self.env.section(dns_zone.SECTION, dns_zone.Config).ttl
        servers = UNKNOWN if self._servers is None else [{"nsdname": s} for s in self._servers]
        return {"properties": {"TTL": ttl, "NSRecords": servers}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.dns.record_sets.get, self.resource_group, self.zone, self.resource_name, "NS")

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.dns.record_sets.create_or_update, self.resource_group, self.zone, self.resource_name, "NS", desired)

    def delete(self, clients: Any) -> None:
        call(clients.dns.record_sets.delete, self.resource_group, self.zone, self.resource_name, "NS")


def instances(env: EnvironmentSpec) -> list[Delegation]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    return [Delegation(env, f"dns_delegation:{label}", label, group) for label, group in sorted(dns.delegations.items())]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    problems: list[ConfigProblem] = []

    def add(key: str, message: str) -> None:
        problems.append(ConfigProblem(env.where(f"dns.{key.split('.')[0]}"), f"dns.{key}", message))

    try:
        zone = env.resource_name("dns_zone")
    except Exception:  # a bad template is reported by steps/dns_zone.py
        return problems
    if dns.parent_environment:
        if zone.count(".") < 2:
            add("parent_environment", f"{zone!r} has no parent zone to be delegated from: a zone registered at a "
                                      "registrar (the apex) sets parent_environment = \"\"")
        if not RESOURCE_GROUP.fullmatch(dns.parent_resource_group):
            add("parent_resource_group", f"{dns.parent_resource_group!r} is not a resource group name (the group "
                                         f"of the parent zone, owned by {dns.parent_environment})")
    elif dns.parent_resource_group:
        add("parent_resource_group", "set only with parent_environment (this zone is registered, not delegated)")
    reserved = {dns.api_host, dns.admin_host, "_dmarc", *dns.txt_records}
    for label, group in dns.delegations.items():
        if not dns_zone.LABEL.fullmatch(label):
            add(f"delegations.{label}", f"{label!r} must be one label of 1-63 letters, digits, '_' or '-'")
        elif label in reserved:
            add(f"delegations.{label}", f"{label!r} is already a record name in {zone}")
        if not RESOURCE_GROUP.fullmatch(group):
            add(f"delegations.{label}", f"{group!r} is not a resource group name")
    return problems
