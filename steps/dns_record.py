"""Steps: record sets in the zone (Microsoft.Network/dnsZones/{CNAME,TXT}): custom hosts and email auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from provisioner.azure import call, raw
from provisioner.core.errors import ConfigError, ConfigProblem, ProvisionerError
from provisioner.core.model import UNKNOWN
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from steps import dns_zone, email_domain, email_service
from steps._base import ArmStep, rules
from steps._fields import SdkModel, record_set_absent, record_set_not_managed

SECTION = None  # configured by [dns] (steps/dns_zone.py) and [email] (steps/email_service.py)

TXT_CHUNK = 255  # one TXT string is at most 255 octets; longer values travel as several strings
TXT_MAX = 4096  # Azure DNS: a TXT record (all its strings) is at most 4096 characters (1024 in national clouds)
# The DKIM selectors Azure Communication Services asks every custom domain for (Az.Communication docs and
# the verificationRecords it returns): record names must be known before the domain exists.
DKIM_NAMES = {"DKIM": "selector1-azurecomm-prod-net._domainkey", "DKIM2": "selector2-azurecomm-prod-net._domainkey"}
RESERVED_TXT = ("_dmarc",)  # names whose TXT set another instance owns ("@" is merged, "asuid.*" checked below)

Source = Callable[[Any], Any]  # known -> the record data (target host name or TXT values), or UNKNOWN


def dns_name(value: Any) -> Any:
    """DNS names are case-insensitive (RFC 4343) and 'x.net.' is 'x.net': compare them folded, without the dot."""
    return value.lower().rstrip(".") if isinstance(value, str) else value


def chunks(value: str) -> list[str]:
    return [value[i:i + TXT_CHUNK] for i in range(0, len(value), TXT_CHUNK)] or [""]


def observed(known: Any, step: str, *path: str) -> Any:
    """A value from another step's observed body; UNKNOWN while that resource does not exist."""
    body: Any = known.get(step)
    for part in path:
        body = body.get(part) if isinstance(body, dict) else None
    return UNKNOWN if body is None else body


class DnsRecord(ArmStep):
    """One record set: TTL plus the records of one type, owned whole (a PUT replaces the set)."""

    record_type: ClassVar[str]

    def __init__(self, env: EnvironmentSpec, name: str, relative_name: str, source: Source, needs: tuple[str, ...]):
        super().__init__(env, name, relative_name)
        self.source = source
        self.record_needs = ("dns_zone", *needs)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return self.record_needs

    @property
    def zone(self) -> str:
        return self.env.resource_name("dns_zone")

    def parent_path(self) -> str | None:
        return f"dnsZones/{self.zone}"

    def records(self, data: Any) -> dict[str, Any]:
        raise NotImplementedError

    def desired(self, known: Any) -> dict[str, Any]:
        ttl = self.env.section(dns_zone.SECTION, dns_zone.Config).ttl
        return {"properties": {"TTL": ttl, **self.records(self.source(known))}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.dns.record_sets.get, self.resource_group, self.zone, self.resource_name, self.record_type)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        call(clients.dns.record_sets.create_or_update, self.resource_group, self.zone, self.resource_name,
             self.record_type, desired)

    def delete(self, clients: Any) -> None:
        call(clients.dns.record_sets.delete, self.resource_group, self.zone, self.resource_name, self.record_type)


class CnameRecord(DnsRecord):
    type = "Microsoft.Network/dnsZones/CNAME"
    model = SdkModel("azure.mgmt.dns.models", "RecordSet")
    not_managed = record_set_not_managed("properties.CNAMERecord")
    record_type = "CNAME"
    # fqdn, etag and provisioningState are server-populated (arm-examples GetCNAMERecordset.json).
    rules = rules(Rules(normalizers=(("properties.CNAMERecord.cname", dns_name),),
                        absent=record_set_absent("properties.CNAMERecord")))

    def records(self, data: Any) -> dict[str, Any]:
        return {"CNAMERecord": {"cname": data}}


class TxtRecord(DnsRecord):
    type = "Microsoft.Network/dnsZones/TXT"
    model = SdkModel("azure.mgmt.dns.models", "RecordSet")
    not_managed = record_set_not_managed("properties.TXTRecords")
    record_type = "TXT"
    # A record set is an unordered RRset (RFC 2181 §5): Azure DNS does not promise to keep the order we sent.
    rules = rules(Rules(sets=("properties.TXTRecords",), absent=record_set_absent("properties.TXTRecords")))

    def records(self, data: Any) -> dict[str, Any]:
        if data is UNKNOWN:
            return {"TXTRecords": UNKNOWN}
        return {"TXTRecords": [{"value": chunks(value)} for value in data]}


def fixed(values: list[str]) -> Source:
    """TXT values that come from the configuration alone."""
    return lambda known: list(values)


def _email_record(env: EnvironmentSpec, kind: str, relative: str) -> Source:
    """The value of one of the domain's verificationRecords, checked against the name we create it under."""
    zone = env.resource_name("dns_zone")

    def source(known: Any) -> Any:
        record = email_domain.verification_record(known, kind)
        if record is UNKNOWN:
            return UNKNOWN
        name = dns_name(record.get("name") or "")
        wanted = zone if relative == "@" else f"{relative}.{zone}"
        if name not in (dns_name(relative), dns_name(wanted)):
            raise ProvisionerError(f"email domain {zone} asks for its {kind} record at {record.get('name')!r}, "
                                   f"not {relative!r}: Azure changed its record names; update DKIM_NAMES")
        return record.get("value") or UNKNOWN

    return source


def _apex_txt(env: EnvironmentSpec, extra: list[str]) -> Source:
    verify, spf = _email_record(env, "Domain", "@"), _email_record(env, "SPF", "@")
    includes = env.section(email_service.SECTION, email_service.Config).spf_includes

    def source(known: Any) -> Any:
        values = [verify(known), spf(known)]
        if UNKNOWN in values:
            return UNKNOWN
        # One SPF record per name (RFC 7208 §3.2): the company's includes join Azure's in a single v=spf1 value.
        return [values[0], email_service.merged_spf(values[1], includes), *extra]

    return source


def instances(env: EnvironmentSpec) -> list[DnsRecord]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    txt = dict(dns.txt_records)
    out: list[DnsRecord] = [
        CnameRecord(env, "dns_record:api", dns.api_host, lambda k: observed(k, "web_app", "properties", "defaultHostName"),
                    ("web_app",)),
        # App Service proves ownership of api.<zone> by this TXT record (asuid.<host> = customDomainVerificationId).
        TxtRecord(env, "dns_record:asuid.api", f"asuid.{dns.api_host}",
                  lambda k: [v] if (v := observed(k, "web_app", "properties", "customDomainVerificationId")) is not UNKNOWN
                  else UNKNOWN, ("web_app",)),
    ]
    out.append(CnameRecord(env, "dns_record:admin", dns.admin_host,
                           lambda k: observed(k, "static_web_app", "properties", "defaultHostname"), ("static_web_app",)))
    # Email (architecture: "Custom domain, SPF/DKIM/DMARC authentication"): the ownership TXT and SPF both live
    # at the apex, and Azure DNS keeps one TXT set per name, so they are one record set.
    out.append(TxtRecord(env, "dns_record:apex-txt", "@", _apex_txt(env, txt.pop("@", [])), ("email_domain",)))
    for step, kind in (("dkim", "DKIM"), ("dkim2", "DKIM2")):
        out.append(CnameRecord(env, f"dns_record:{step}", DKIM_NAMES[kind], _email_record(env, kind, DKIM_NAMES[kind]),
                               ("email_domain",)))
    try:
        dmarc = email_service.dmarc_value(env)
    except ConfigError:
        dmarc = ""  # a bad address template: steps/email_service.py reports it, and the run stops there
    out.append(TxtRecord(env, "dns_record:dmarc", "_dmarc", fixed([dmarc]), ()))
    for name, values in sorted(txt.items()):
        out.append(TxtRecord(env, f"dns_record:txt:{name}", name, fixed(values), ()))
    return out


def relative_name_problem(name: str) -> str | None:
    """Why `name` is not a valid relative record set name ('@' is the apex), or None."""
    if name == "@":
        return None
    if len(name) > 253 or not all(dns_zone.LABEL.fullmatch(label) for label in name.split(".")):
        return "labels of 1-63 letters, digits, '_' or '-', separated by '.' ('@' for the apex)"
    return None


def txt_problem(value: str) -> str | None:
    if not value or len(value) > TXT_MAX:
        return f"a TXT value must be 1-{TXT_MAX} characters (sent as strings of up to {TXT_CHUNK}), got {len(value)}"
    if not value.isascii() or not value.isprintable():
        return "a TXT value must be printable ASCII (strings are cut every 255 octets)"
    return None


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    dns = env.section(dns_zone.SECTION, dns_zone.Config)
    problems: list[ConfigProblem] = []

    def add(key: str, message: str) -> None:
        # where() walks dotted parents: look up "txt_records.<name>" for "txt_records.<name>[i]".
        problems.append(ConfigProblem(env.where(f"dns.{key.split('[')[0]}"), f"dns.{key}", message))

    for key in ("api_host", "admin_host"):
        host = getattr(dns, key)
        if host == "@":
            add(key, "a CNAME cannot live at the zone apex '@' (it would shadow the SOA and NS records)")
        elif problem := relative_name_problem(host):
            add(key, f"{host!r} is not a valid record name: {problem}")
    if dns.api_host == dns.admin_host:
        add("admin_host", f"{dns.admin_host!r} is already the API's host name")
    for name, values in dns.txt_records.items():
        if problem := relative_name_problem(name):
            add(f"txt_records.{name}", f"{name!r} is not a valid record name: {problem}")
        elif name in RESERVED_TXT or name == f"asuid.{dns.api_host}":
            add(f"txt_records.{name}", f"the TXT set {name!r} is managed by the provisioner")
        for i, value in enumerate(values):
            if problem := txt_problem(value):
                add(f"txt_records.{name}[{i}]", problem)
            elif name == "@" and value.lower().startswith("v=spf1"):
                # RFC 7208 §3.2: one SPF record per name; the apex one is the email domain's.
                add(f"txt_records.{name}[{i}]", "the apex already carries the SPF record Azure Communication "
                                                "Services asks for; a second one makes SPF fail (RFC 7208 §3.2)")
    try:
        dmarc = email_service.dmarc_value(env)
    except ConfigError:
        return problems  # a bad address template is reported by steps/email_service.py
    if problem := txt_problem(dmarc):
        problems.append(ConfigProblem(env.where("email.dmarc_report_address"), "email.dmarc_report_address", problem))
    return problems
