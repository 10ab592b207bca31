"""Step: the Log Analytics workspace every diagnostic setting sends to (Microsoft.OperationalInsights/workspaces)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from provisioner.azure import call, raw, wait
from provisioner.core.errors import ConfigProblem
from provisioner.engine.config import EnvironmentSpec, Section
from provisioner.engine.diff import Rules, lower
from steps._base import NO_IDENTITY, NONE, ArmStep, absent_is, name_problems, rules
from steps._fields import LEGACY, UNUSED, SdkModel, nm

SECTION = "log_analytics"


class Config(Section):
    sku: str = "PerGB2018"
    retention_days: int = Field(ge=30, le=730)  # Azure's range for PerGB2018 (730; 4383 with archive)
    daily_quota_gb: float | None = None  # None: no cap


class Workspace(ArmStep):
    type = "Microsoft.OperationalInsights/workspaces"
    model = SdkModel("azure.mgmt.loganalytics.models", "Workspace")
    not_managed = (
        nm(UNUSED, "properties.defaultDataCollectionRuleResourceId", "properties.sku.capacityReservationLevel")
        + nm("subordinate to properties.replication.enabled (compared: off)", "properties.replication.location")
        # arm-examples WorkspacesGet: features carries `legacy` and `searchVersion`, which the model does not.
        + nm(LEGACY, "properties.features.legacy", "properties.features.searchVersion")
    )
    needs = ("resource_group",)
    holds_data = True  # the logs themselves
    # arm-examples WorkspacesGet: sku.name comes back lower-case ('pergb2018'); customerId, createdDate,
    # modifiedDate, workspaceCapping.quotaNextResetTime/dataIngestionStatus are server-populated (left-scoped).
    rules = rules(NO_IDENTITY, Rules(
        normalizers=(("properties.sku.name", lower), ("properties.publicNetworkAccessFor*", absent_is("Enabled")),
                     ("properties.features.enableLogAccessUsingOnlyResourcePermissions", absent_is(True)),
                     ("properties.features.disableLocalAuth", absent_is(False)),
                     ("properties.features.enableDataExport", absent_is(False)),
                     ("properties.features.immediatePurgeDataOn30Days", absent_is(False)),
                     ("properties.forceCmkForQuery", absent_is(False)), ("properties.replication.enabled", absent_is(False))),
        # A dedicated cluster (customer-managed keys) the workspace is linked to: none.
        absent=("properties.features.clusterResourceId",)))

    @property
    def config(self) -> Config:
        return self.env.section(SECTION, Config)

    def desired(self, known: Any) -> dict[str, Any]:
        c = self.config
        props: dict[str, Any] = {"sku": {"name": c.sku}, "retentionInDays": c.retention_days}
        # -1 is Azure's "no cap" value: declaring it lets drift catch a cap someone added by hand.
        props["workspaceCapping"] = {"dailyQuotaGb": c.daily_quota_gb if c.daily_quota_gb is not None else -1}
        # Ingestion and queries over the public endpoint (no private link in the document): declared, so a
        # change by hand (which would cut telemetry off) is drift. arm-examples WorkspacesGet: "Enabled" defaults.
        props["publicNetworkAccessForIngestion"] = "Enabled"
        props["publicNetworkAccessForQuery"] = "Enabled"
        # The workspace's features (arm-examples WorkspacesGet shows Azure's defaults): access by resource
        # permissions only, local (shared key) auth, data export, the 30-day purge; then query CMK and cross-
        # region replication. Each can grant access, ship the logs elsewhere or drop them, so each is declared.
        # Only Entra ID may ingest (built-in "Log Analytics Workspaces should block non-Azure Active Directory based
        # ingestion"): nothing uses the workspace keys (diagnostic settings and the workspace-based component send
        # through Azure Monitor's own identity).
        props["features"] = {"enableLogAccessUsingOnlyResourcePermissions": True, "disableLocalAuth": True,
                             "enableDataExport": False, "immediatePurgeDataOn30Days": False}
        props["forceCmkForQuery"] = False
        props["replication"] = {"enabled": False}
        body = self.base(**props)
        body["identity"] = dict(NONE)
        return body

    def read(self, clients: Any) -> dict[str, Any] | None:
        return raw(clients.loganalytics.workspaces.get, self.resource_group, self.resource_name)

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        wait(call(clients.loganalytics.workspaces.begin_create_or_update, self.resource_group, self.resource_name, desired))

    def delete(self, clients: Any) -> None:
        wait(call(clients.loganalytics.workspaces.begin_delete, self.resource_group, self.resource_name))


def instances(env: EnvironmentSpec) -> list[Workspace]:
    return [Workspace(env, "log_analytics", env.resource_name("log_analytics"))]


def validate(env: EnvironmentSpec) -> list[ConfigProblem]:
    return name_problems(env, "log_analytics", r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]",
                         "4-63 letters, digits and '-', starting and ending with a letter or digit")
