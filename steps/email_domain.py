"""Steps: the customer-managed email domain (Microsoft.Communication/emailServices/domains) and its verification."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from provisioner.azure import call, raw, wait
from provisioner.core.errors import Waiting
from provisioner.core.model import UNKNOWN, ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules, lower
from steps import email_service
from steps._base import ArmStep, rules
from steps._fields import SdkModel, nm
from steps.dns_delegation import NeedsPublicDns

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
    model = SdkModel("azure.mgmt.communication.models", "DomainResource")
    needs: ClassVar[tuple[str, ...]] = ("email_service",)
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


class EmailDomainVerification(NeedsPublicDns, EmailDomain):
    """properties.verificationStates of the domain. Azure checks the records through public DNS, so this waits
    while the zone is not delegated. The documented order ("Add custom verified domains", Communication Services
    quickstart, MicrosoftDocs/azure-docs .../create-custom-managed-domain-resource-az-portal.md): verify the
    domain's ownership TXT first, then SPF and DKIM/DKIM2, each by initiateVerification of its type; each check
    takes 15-30 minutes. The wait is bounded (email.verification_wait_minutes) and shows progress; when it runs
    out, what is verified stays verified and the rest (and the link) is left for the next run, not failed."""

    needs = ("email_domain", "dns_record:apex-txt", "dns_record:dkim", "dns_record:dkim2")
    # Verification statuses are enum strings (VerificationStatus): compare case-insensitively.
    rules = rules(Rules(normalizers=(("properties.verificationStates.*.status", lower),)))
    not_managed = nm("owned by the email_domain step (this step only starts verification)", "location", "tags",
                     "properties.domainManagement", "properties.userEngagementTracking") + nm(
        "DMARC is the domain owner's policy record: not required to send, so not verified here",
        "properties.verificationStates.DMARC")

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"verificationStates": {kind: {"status": "Verified"} for kind in VERIFIED_KINDS}}}

    @staticmethod
    def statuses(body: dict[str, Any] | None) -> dict[str, str]:
        states = ((body or {}).get("properties") or {}).get("verificationStates") or {}
        return {kind: str((states.get(kind) or {}).get("status") or "").lower() for kind in VERIFIED_KINDS}

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        c = self.env.section(email_service.SECTION, email_service.Config)
        deadline = time.monotonic() + c.verification_wait_minutes * 60
        for stage in (("Domain",), VERIFIED_KINDS[1:]):  # ownership first, then sender authentication
            self._verify(clients, stage, deadline)

    def _verify(self, clients: Any, kinds: tuple[str, ...], deadline: float) -> None:
        while True:
            now = self.statuses(self.read(clients))
            if all(now[k] == "verified" for k in kinds):
                return
            for kind in kinds:
                # A check that failed is asked again: DNS answers are cached (negative TTL), so records written
                # minutes ago may not be seen by the first check.
                if now[kind] in _RESTARTABLE:
                    call(clients.communication.domains.begin_initiate_verification, self.resource_group,
                         self.service, self.resource_name, {"verificationType": kind})
            summary = ", ".join(f"{k} {now[k] or 'not started'}" for k in VERIFIED_KINDS)
            if time.monotonic() > deadline:
                failed = [k for k in kinds if now[k] == "verificationfailed"]
                hint = (f"; {', '.join(failed)} failed again: if it keeps failing across runs, compare the zone's "
                        "records with the domain's verificationRecords (one v=spf1 record at the apex)") if failed else ""
                raise Waiting(f"Azure is still checking the e-mail records of {self.resource_name} ({summary}) after "
                              f"{self.env.section(email_service.SECTION, email_service.Config).verification_wait_minutes}"
                              f" min; checks take 15-30 minutes each: the next run picks them up and links the domain{hint}")
            self.note(f"Azure is verifying {', '.join(kinds)} ({summary}); each check takes 15-30 min")
            time.sleep(self.poll_seconds)

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: Any) -> None:
        self.create(clients, desired)

    def delete(self, clients: Any) -> None:
        """Nothing to remove: verification is a state of the domain, deleted with it."""


def instances(env: EnvironmentSpec) -> list[EmailDomain]:
    out = [EmailDomain(env, "email_domain", domain_name(env))]
    if env.section(email_service.SECTION, email_service.Config).link_domain:
        out.append(EmailDomainVerification(env, "email_domain_verification", domain_name(env)))
    return out
