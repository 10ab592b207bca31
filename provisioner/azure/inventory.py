"""READ: the resources that exist in the environment's group but no step declares (reported, never deleted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.core.errors import ProvisionerError
from provisioner.engine.step import Step

# Azure creates these itself next to a new Application Insights component: the "Failure Anomalies - <name>"
# smart detector alert rule and the "Application Insights Smart Detection" action group it notifies
# (learn.microsoft.com/azure/azure-monitor/alerts/proactive-failure-diagnostics; MicrosoftDocs/azure-docs#117421,
# hashicorp/terraform-provider-azurerm#18026, CompositionalIT/farmer#637). They are known, not unmanaged.
SMART_DETECTOR = "microsoft.alertsmanagement/smartdetectoralertrules"
SMART_DETECTION_GROUP = "Application Insights Smart Detection"


def azure_companions(steps: Sequence[Step]) -> set[tuple[str, str]]:
    """(lower type, lower name) of what Azure creates for the components the steps declare (pure)."""
    components = [s.ref.name for s in steps if s.ref.type.lower() == "microsoft.insights/components"]
    out = {(SMART_DETECTOR, f"failure anomalies - {name}".lower()) for name in components}
    if components:
        out.add(("microsoft.insights/actiongroups", SMART_DETECTION_GROUP.lower()))
    return out


def unmanaged(steps: Sequence[Step], clients: Any, resource_group: str) -> tuple[tuple[str, str], ...]:
    """(id, type) of top-level resources in the group that match no step's resource id (case-insensitive,
    as ARM ids are) and are not Azure's own companions of one. Listing failures are not fatal: the inventory
    is information, not a decision."""
    from provisioner.azure import call

    managed = {s.ref.id.lower() for s in steps}
    known = azure_companions(steps)
    try:
        listed = call(lambda: [(r.id, r.type) for r in clients.resource.resources.list_by_resource_group(resource_group)])
    except ProvisionerError:
        return ()
    return tuple(sorted((rid, rtype) for rid, rtype in listed if rid and rid.lower() not in managed
                        and (str(rtype).lower(), rid.rsplit("/", 1)[-1].lower()) not in known))
