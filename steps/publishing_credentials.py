"""Step: basic-auth publishing off for FTP and SCM on the site and its slot (Microsoft.Web/sites/basicPublishingCredentialsPolicies).

Deployments sign in with OIDC federated credentials (architecture document, CI/CD: "no secrets rotation"), so
the user/password publishing credentials App Service creates for every site are not needed: `allow: false`
for `ftp` and `scm`, as Azure Policy's built-in "disable local authentication for FTP/SCM" does
(Azure/azure-policy built-in-policies/policyDefinitions/App Service/*_DisableBasicAuth_DINE.json; REST:
https://learn.microsoft.com/en-us/rest/api/appservice/web-apps/get-scm-allowed-slot). A site starts with both
allowed, so a plan on a new environment shows them turning off.
"""

from __future__ import annotations

from typing import Any

from provisioner.azure import call, raw
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from provisioner.engine.step import Step
from steps._base import ArmStep
from steps._fields import ECHOED_LOCATION, PLATFORM, SdkModel, nm
from steps.deployment_slot import slot_config, slots_enabled
from steps.web_app import plan_lane

SECTION = None  # nothing to configure: basic auth is off everywhere
KINDS = ("ftp", "scm")


class PublishingCredentials(ArmStep):
    """One policy (ftp or scm) of the site, or of its slot when `slot` is set."""

    type = "Microsoft.Web/sites/basicPublishingCredentialsPolicies"
    model = SdkModel("azure.mgmt.web.models", "CsmPublishingCredentialsPoliciesEntity")
    not_managed = nm(PLATFORM, "kind") + nm(ECHOED_LOCATION, "location")
    rules = Rules()

    def __init__(self, env: EnvironmentSpec, name: str, kind: str, slot: str | None = None):
        super().__init__(env, name, kind)
        self.slot = slot
        self._clients: Any = None  # remembered from read() for the operation lookup

    @property
    def site(self) -> str:
        return self.env.resource_name("web_app")

    @property
    def depends_on(self) -> tuple[str, ...]:
        return ("deployment_slot",) if self.slot else ("web_app",)

    def parent_path(self) -> str:
        return f"sites/{self.site}/slots/{self.slot}" if self.slot else f"sites/{self.site}"

    @property
    def lane(self) -> str | None:
        return plan_lane(self.env)

    def desired(self, known: Any) -> dict[str, Any]:
        return {"properties": {"allow": False}}

    def _op(self, verb: str) -> Any:
        suffix = "_slot" if self.slot else ""
        return getattr(self._clients.web.web_apps, f"{verb}_{self.resource_name}_allowed{suffix}")

    def _args(self) -> tuple[str, ...]:
        return (self.resource_group, self.site, self.slot) if self.slot else (self.resource_group, self.site)

    def read(self, clients: Any) -> dict[str, Any] | None:
        self._clients = clients
        return raw(self._op("get"), *self._args())

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        self._clients = clients
        call(self._op("update"), *self._args(), desired)

    def delete(self, clients: Any) -> None:
        """The policies go with their site; nothing to delete on their own."""


class SlotPublishingCredentials(PublishingCredentials):
    """The same policies on the staging slot (their ARM type is the slot's: .../slots/basicPublishingCredentialsPolicies)."""

    type = "Microsoft.Web/sites/slots/basicPublishingCredentialsPolicies"


def instances(env: EnvironmentSpec) -> list[Step]:
    out: list[Step] = [PublishingCredentials(env, f"publishing_credentials:{kind}", kind) for kind in KINDS]
    if slots_enabled(env):
        slot = slot_config(env).name
        out += [SlotPublishingCredentials(env, f"publishing_credentials:slot-{kind}", kind, slot) for kind in KINDS]
    return out
