"""Steps: the customer-managed email domain (Microsoft.Communication/emailServices/domains) and its verification."""

from __future__ import annotations

from typing import Any, ClassVar

from azure.mgmt.communication.models import DomainResource

from provisioner.azure import call, raw, wait
from provisioner.config import EnvironmentSpec
from provisioner.diff import Rules, lower
from provisioner.errors import AzureCallError, ProvisionerError
from provisioner.model import UNKNOWN, ResourceRef
from steps import email_service
from steps._base import ArmStep, rules
from steps._fields import nm

SECTION = None  # configured by [email] (steps/email_service.py)

# The records a CustomerManaged domain asks for (properties.verificationRecords) and must pass before it can
# be linked: ownership TXT, SPF TXT, two DKIM CNAMEs (Az.Communication docs, Update-AzEmailServiceDomain).
VERIFIED_KINDS = ("Domain", "SPF", "DKIM", "DKIM2")
_RESTARTABLE = {"", "notstarted", "verificationfailed"}


def domain_name(env: EnvironmentSpec) -> str:
    """Mail is sent from the environment's zone itself (architecture: "Custom domain support")."""
    return env.resource_name("dns_zone")


def domain_ref(env: EnvironmentSpec) -> ResourceRef:
    return ResourceRef(env.subscription_id, env.resource_name("resource_group"), EmailDomain.type,
                       domain_name(env), f"emailServices/{env.resource_name('email_service')}")


def domain_id(env: EnvironmentSpec) -> str:
    return domain_ref(env).id


def verification_record(known: Any, kind: str) -> dict[str, Any] | Any:
    """The DNS record the domain asks for (`{"type", "name", "value", "ttl"}`), UNKNOWN until it exists."""
    body = known.get("email_domain")
    records = ((body or {}).get("properties") or {}).get("verificationRecords") or {}
    return records.get(kind) or UNKNOWN


class EmailDomain(ArmStep):
    type = "Microsoft.Communication/emailServices/domains"
    model = DomainResource  # the GET body's SDK model: read-only fields derive from it
    dependencies: ClassVar[tuple[str, ...]] = ("email_service",)
    # dataLocation, fromSenderDomain, mailFromSenderDomain, verificationStates and verificationRecords are
    # read-only (azure-sdk-facts §1 "Email domain"): not declared, never compared.
    rules = rules(Rules(
        normalizers=(("properties.domainManagement", lower), ("properties.userEngagementTracking", lower)),
        replace_on=("properties.domainManagement",),
    ))

    def parent_path(self) -> str | None:
        return f"emailServices/{self.env.resource_name('email_service')}"

    @property
    def service(self) -> str:
        return self.env.resource_name("email_service")

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.env.section(email_service.SECTION, email_service.Config)
        return {"location": "global", "tags": self.tags(), "properties": {
            "domainManagement": "CustomerManaged", "userEngagementTracking": c.user_engagement_tracking}}

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.communication.domains.get, self.resource_group, self.service, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.communication.domains.begin_create_or_update, self.resource_group, self.service,
                  self.resource_name, desired))

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        # PATCH (UpdateDomainRequestParameters): tags and userEngagementTracking are all it can change.
        patch = {"tags": desired["tags"],
                 "properties": {"userEngagementTracking": desired["properties"]["userEngagementTracking"]}}
        wait(call(clients.communication.domains.begin_update, self.resource_group, self.service,
                  self.resource_name, patch))

    def delete(self, clients: Any) -> None:
        wait(call(clients.communication.domains.begin_delete, self.resource_group, self.service, self.resource_name))


class EmailDomainVerification(EmailDomain):
    """properties.verificationStates of the domain: starts verification once the DNS records exist."""

    dependencies = ("email_domain", "dns_record:apex-txt", "dns_record:dkim", "dns_record:dkim2")
    # Verification statuses are enum strings (VerificationStatus): compare case-insensitively.
    rules = rules(Rules(normalizers=(("properties.verificationStates.*.status", lower),)))
    not_managed = nm("owned by the email_domain step (this step only starts verification)", "location", "tags",
                     "properties.domainManagement", "properties.userEngagementTracking") + nm(
        "DMARC is the domain owner's policy record: not required to send, so not verified here",
        "properties.verificationStates.DMARC")

    def __init__(self, env: EnvironmentSpec, name: str, resource_name: str):
        super().__init__(env, name, resource_name)
        self._started: set[str] = set()  # kinds this run asked Azure to verify

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"verificationStates": {kind: {"status": "Verified"} for kind in VERIFIED_KINDS}}}

    @staticmethod
    def statuses(body: dict[str, Any] | None) -> dict[str, str]:
        states = ((body or {}).get("properties") or {}).get("verificationStates") or {}
        return {kind: str((states.get(kind) or {}).get("status") or "").lower() for kind in VERIFIED_KINDS}

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        for kind, status in self.statuses(self.read(clients)).items():
            if status in _RESTARTABLE and not (status == "verificationfailed" and kind in self._started):
                wait(call(clients.communication.domains.begin_initiate_verification, self.resource_group,
                          self.service, self.resource_name, {"verificationType": kind}))
                self._started.add(kind)
        now = self.statuses(self.read(clients))
        failed = sorted(k for k, s in now.items() if s == "verificationfailed")
        if failed:
            raise ProvisionerError(
                f"{self.name}: Azure could not verify {', '.join(failed)} for {self.resource_name}: the zone's "
                "records are in place, so check that the zone is delegated (its name servers) and re-run")
        pending = sorted(k for k, s in now.items() if s != "verified")
        if pending:
            # Verification is asynchronous: the executor's retry layer polls with backoff until its deadline.
            raise AzureCallError(f"{self.name}: still verifying {', '.join(pending)}", retryable=True)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        self.create(clients, desired)

    def delete(self, clients: Any) -> None:
        """Nothing to remove: verification is a state of the domain, deleted with it."""


def instances(env: EnvironmentSpec) -> list[EmailDomain]:
    out = [EmailDomain(env, "email_domain", domain_name(env))]
    if env.section(email_service.SECTION, email_service.Config).link_domain:
        out.append(EmailDomainVerification(env, "email_domain_verification", domain_name(env)))
    return out
