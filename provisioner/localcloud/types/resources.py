"""Microsoft.Resources: resource groups (synchronous create, delete via 202 + Location)."""

from __future__ import annotations

from ..errors import ArmError
from ..ids import RG_TYPE
from ..profile import TypeProfile, WriteCtx


def _group_location(ctx: WriteCtx) -> None:
    # ARM refuses to move a group: a PUT with another location is 409 InvalidResourceGroupLocation.
    if ctx.existing is None or ctx.method != "PUT":
        return
    old, new = ctx.existing.get("location"), ctx.body.get("location")
    if isinstance(new, str) and isinstance(old, str) and new.replace(" ", "").lower() != old.lower():
        raise ArmError(409, "InvalidResourceGroupLocation",
                       f"Invalid resource group location '{new}'. The Resource group already exists in "
                       f"location '{old}'.")


PROFILES = [
    TypeProfile(
        type=RG_TYPE,
        created=201,
        updated=200,
        delete_location_only=True,
        delete_missing=None,
        latency=1.0,
        delete_latency=15.0,
        before_write=_group_location,
    ),
]
