"""Step: the Email Communication Service (Microsoft.Communication/emailServices), and the [email] section."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigError, ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, location
from steps._base import ArmStep, rules
from steps._fields import SdkModel

SECTION = "email"

# The geographies Communication Services store data in (CommunicationServiceProperties.dataLocation).
DATA_LOCATIONS = ("United States", "Europe", "UK", "Australia", "Japan", "France", "Switzerland", "Asia Pacific",
                  "Canada", "Germany", "Korea", "India", "Norway", "UAE", "Brazil", "Africa")
# Communication and email service names: 1-63 letters, digits and '-' (azure-sdk-facts §8).
SERVICE_NAME = r"[A-Za-z0-9-]{1,63}"
SERVICE_RULE = "1-63 letters, digits and '-'"


class Config(Section):
    data_location: str = "United States"  # immutable; must equal communication.data_location
    user_engagement_tracking: Literal["Disabled", "Enabled"] = "Disabled"
    # DMARC (architecture: "SPF/DKIM/DMARC authentication", no policy given).
    dmarc_policy: Literal["none", "quarantine", "reject"] = "quarantine"
    dmarc_report_address: str = "dmarc@{zone}"  # {zone} is the environment's DNS zone
    # Verify the domain once its DNS records exist and link it to the communication service.
    link_domain: bool = True
    # How long one run waits for Azure's DNS checks (15-30 minutes each) before leaving them to the next run.
    verification_wait_minutes: float = Field(45, gt=0, le=24 * 60)
    # Domains the company's SPF record already includes, merged with Azure's include into one v=spf1 record.
    spf_includes: list[str] = []


# RFC 7208 §4.6.4: evaluating an SPF record may take at most 10 DNS lookups; every include: is one, and
# Azure's own include (spf.protection.outlook.com) is one more (its nested lookups count too).
SPF_MAX_INCLUDES = 9
DOMAIN = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+[A-Za-z]{2,63}")


def spf_include_problems(env: EnvironmentSpec, includes: list[str]) -> list[ConfigProblem]:
    key = "email.spf_includes"
    problems = []
    for i, value in enumerate(includes):
        if value.lower().startswith(("include:", "v=spf1")) or not DOMAIN.fullmatch(value):
            problems.append(ConfigProblem(env.where(key), f"{key}[{i}]", f"{value!r} must be a domain name as in "
                                          "include:<domain> (e.g. \"_spf.google.com\"), without 'include:'"))
    folded = [v.lower() for v in includes]
    dupes = sorted({v for v in folded if folded.count(v) > 1})
    if dupes:
        problems.append(ConfigProblem(env.where(key), key, f"listed twice: {', '.join(dupes)}"))
    if len(includes) > SPF_MAX_INCLUDES:
        problems.append(ConfigProblem(env.where(key), key, f"{len(includes)} includes: SPF allows 10 DNS lookups "
                                      f"(RFC 7208 §4.6.4) and Azure's include takes one; at most {SPF_MAX_INCLUDES}"))
    return problems


def merged_spf(azure_value: str, includes: list[str]) -> str:
    """Azure's SPF value with the company's includes added before its `all` term: one record (RFC 7208 §3.2)."""
    terms = azure_value.split()
    extra = [f"include:{d}" for d in includes if f"include:{d}".lower() not in (t.lower() for t in terms)]
    tail = next((i for i, t in enumerate(terms) if t.lstrip("+-~?").lower() == "all"), len(terms))
    return " ".join(terms[:tail] + extra + terms[tail:])


# dataLocation travels as "United States" but is also reported as "unitedstates" (Get-AzEmailServiceDomain
# output in the Az.Communication docs): compare it like a region.
DATA_LOCATION_RULES = Rules(normalizers=(("properties.dataLocation", location),),
                            replace_on=("properties.dataLocation",))


class EmailService(ArmStep):
    type = "Microsoft.Communication/emailServices"
    model = SdkModel("azure.mgmt.communication.models", "EmailServiceResource")
    needs = ("resource_group",)
    # provisioningState comes back 'Running' on GET (arm-examples emailServices/2025-05-01/get.json) and
    # location as 'Global': both handled by the engine (terminal check) and the COMMON location rule.
    rules = rules(DATA_LOCATION_RULES)

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"location": "global", "tags": self.tags(), "properties": {"dataLocation": self.config.data_location}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.communication.email_services.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.communication.email_services.begin_create_or_update, self.resource_group,
                  self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (EmailServiceResourceUpdate) takes tags only: dataLocation is immutable.
        wait(call(clients.communication.email_services.begin_update, self.resource_group, self.resource_name,
                  {"tags": desired["tags"]}))

    def delete(self, clients: Any) -> None:
        wait(call(clients.communication.email_services.begin_delete, self.resource_group, self.resource_name))


def instances(env: EnvironmentSpec) -> list[EmailService]:
    return [EmailService(env, "email_service", env.resource_name("email_service"))]


def data_location_problems(env: EnvironmentSpec, key: str, value: str) -> list[ConfigProblem]:
    if value in DATA_LOCATIONS:
        return []
    return [ConfigProblem(env.where(key), key, f"{value!r} is not a Communication Services data location "
                                               f"(one of: {', '.join(DATA_LOCATIONS)})")]


def service_name_problems(env: EnvironmentSpec, key: str) -> list[ConfigProblem]:
    try:
        value = env.resource_name(key)
    except Exception as exc:  # a bad template is reported with its key by the config layer
        return [ConfigProblem(env.where(f"naming.{key}"), f"naming.{key}", str(exc))]
    if re.fullmatch(SERVICE_NAME, value):
        return []
    return [ConfigProblem(env.where(f"naming.{key}"), f"naming.{key}", f"{value!r} is not a valid name: {SERVICE_RULE}")]


def dmarc_address(env: EnvironmentSpec, zone: str) -> str:
    template = env.section(SECTION, Config).dmarc_report_address
    try:
        return template.format(zone=zone)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError([ConfigProblem(env.where("email.dmarc_report_address"), "email.dmarc_report_address",
                                         f"bad template {template!r}: {exc} (only {{zone}} is filled in)")]) from None


def dmarc_value(env: EnvironmentSpec) -> str:
    """The _dmarc TXT value: the document asks for DMARC without a policy; we quarantine and ask for reports."""
    c = env.section(SECTION, Config)
    return f"v=DMARC1; p={c.dmarc_policy}; rua=mailto:{dmarc_address(env, env.resource_name('dns_zone'))}"


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    problems = service_name_problems(env, "email_service")
    problems += data_location_problems(env, "email.data_location", c.data_location)
    problems += spf_include_problems(env, c.spf_includes)
    try:
        address = dmarc_address(env, "zone.example")
    except ConfigError as exc:  # the dns_record step reports it when it builds the record
        address = ""
        problems += exc.problems
    if address and not re.fullmatch(r"[^@\s;,!]+@[A-Za-z0-9_.-]+", address):
        problems.append(ConfigProblem(env.where("email.dmarc_report_address"), "email.dmarc_report_address",
                                      f"{c.dmarc_report_address!r} is not an email address"))
    return problems
