"""READ: the resources that exist in the environment's group but no step declares (reported, never deleted)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provisioner.errors import ProvisionerError
from provisioner.step import Step


def unmanaged(steps: Sequence[Step], clients: Any, resource_group: str) -> tuple[tuple[str, str], ...]:
    """(id, type) of top-level resources in the group that match no step's resource id (case-insensitive,
    as ARM ids are). Listing failures are not fatal: the inventory is information, not a decision."""
    from provisioner.azure import call

    managed = {s.ref.id.lower() for s in steps}
    try:
        listed = call(lambda: [(r.id, r.type) for r in clients.resource.resources.list_by_resource_group(resource_group)])
    except ProvisionerError:
        return ()
    return tuple(sorted((rid, rtype) for rid, rtype in listed if rid and rid.lower() not in managed))
