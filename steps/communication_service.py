"""Steps: Azure Communication Services (Microsoft.Communication/communicationServices) and its email link."""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps import email_domain, email_service
from steps._base import ArmStep, rules
from steps._fields import SdkModel, nm

SECTION = "communication"


class Config(Section):
    # Immutable after create; must equal email.data_location (azure-sdk-facts §1 "Communication + Email").
    data_location: str = "United States"


class CommunicationService(ArmStep):
    """The service itself, without linkedDomains: it exists (keys, endpoint) before the email domain is verified."""

    type = "Microsoft.Communication/communicationServices"
    model = SdkModel("azure.mgmt.communication.models", "CommunicationServiceResource")
    not_managed = nm("owned by the communication_service_link step", "properties.linkedDomains")
    needs = ("resource_group",)
    # hostName, immutableResourceId, version, disableLocalAuth, publicNetworkAccess are filled in by the server
    # (arm-examples communicationServices/2025-05-01/get.json). The identity is the system-assigned one only: a
    # user-assigned identity attached by hand would lend the service another principal's access, so it is drift.
    rules = rules(email_service.DATA_LOCATION_RULES, Rules(normalizers=(("identity.type", lower),),
                                                           absent=("identity.userAssignedIdentities",)))

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(SECTION, Config)
        # A system-assigned identity, so the service can reach other resources with Entra ID rather than keys
        # (built-in "Communication service resource should use a managed identity").
        return {"location": "global", "tags": self.tags(), "identity": {"type": "SystemAssigned"}, "properties": {
            "dataLocation": c.data_location,
            # The API sends e-mail with the resource's access key (connection string): local auth stays on;
            # public access, as the document has no private link. Declared, so a change by hand is drift.
            "disableLocalAuth": False,
            "publicNetworkAccess": "Enabled",
        }}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.communication.communication_services.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.communication.communication_services.begin_create_or_update, self.resource_group,
                  self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH: dataLocation is immutable (a replace); tags and the access settings are what can change here.
        props = {k: v for k, v in desired["properties"].items() if k in ("disableLocalAuth", "publicNetworkAccess")}
        call(clients.communication.communication_services.update, self.resource_group, self.resource_name,
             {"tags": desired["tags"], "identity": desired["identity"], "properties": props})

    def delete(self, clients: Any) -> None:
        wait(call(clients.communication.communication_services.begin_delete, self.resource_group, self.resource_name))


class CommunicationServiceLink(ArmStep):
    """properties.linkedDomains of the service: only a verified email domain can be linked, so this runs last."""

    type = "Microsoft.Communication/communicationServices"
    needs = ("communication_service", "email_domain_verification")
    model = SdkModel("azure.mgmt.communication.models", "CommunicationServiceResource")
    rules = rules()
    not_managed = nm("owned by the communication_service step (this step only links the domain)", "location",
                     "tags", "identity", "properties.dataLocation", "properties.disableLocalAuth",
                     "properties.publicNetworkAccess")

    def desired(self, known: Any) -> dict[str, Any]:
        # ARM ids compare case-insensitively (default normalizer): the service may echo them lower-cased.
        return {"properties": {"linkedDomains": [email_domain.domain_id(self.env)]}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.communication.communication_services.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        # The service exists by now (dependency): link by PATCH, which leaves everything else alone.
        call(clients.communication.communication_services.update, self.resource_group, self.resource_name,
             {"properties": {"linkedDomains": desired["properties"]["linkedDomains"]}})

    def delete(self, clients: Any) -> None:
        call(clients.communication.communication_services.update, self.resource_group, self.resource_name,
             {"properties": {"linkedDomains": []}})


def instances(env: EnvironmentSpec) -> list[ArmStep]:
    name = env.resource_name("communication_service")
    out: list[ArmStep] = [CommunicationService(env, "communication_service", name)]
    if env.section(email_service.SECTION, email_service.Config).link_domain:
        out.append(CommunicationServiceLink(env, "communication_service_link", name))
    return out


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    c = env.section(SECTION, Config)
    location = email_service.data_location_problems(env, "communication.data_location", c.data_location)
    problems = email_service.service_name_problems(env, "communication_service") + location
    email = env.section(email_service.SECTION, email_service.Config)
    if not location and email.data_location in email_service.DATA_LOCATIONS and c.data_location != email.data_location:
        problems.append(ConfigProblem(env.where("communication.data_location"), "communication.data_location",
                                      f"{c.data_location!r} differs from email.data_location {email.data_location!r}: "
                                      "a communication service can only link email domains stored in the same place"))
    return problems
