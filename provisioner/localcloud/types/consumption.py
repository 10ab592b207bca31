"""Microsoft.Consumption budgets: extension resources at subscription or group scope, eTag per write."""

from __future__ import annotations

import uuid

from ..profile import TypeProfile, WriteCtx, defaults


def _populate(ctx: WriteCtx) -> None:
    # A new eTag on every write; an update without (or with a stale) eTag is accepted.
    ctx.body["eTag"] = f'"{uuid.uuid4().hex[:14]}"'
    defaults(ctx.props, {"category": "Cost", "timeGrain": "Monthly"})
    ctx.props["currentSpend"] = {"amount": 0.0, "unit": "USD"}
    for note in (ctx.props.get("notifications") or {}).values():
        if isinstance(note, dict):
            note.pop("locale", None)  # accepted on PUT, absent from GET
            defaults(note, {"contactRoles": [], "contactGroups": [], "thresholdType": "Actual"})


PROFILES = [
    TypeProfile(type="Microsoft.Consumption/budgets", created=201, updated=200, delete_missing=200, latency=2.0,
                provisioning_state=False, has_location=False, extension=True, populate=_populate),
]
