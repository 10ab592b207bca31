"""Microsoft.Consumption budgets: extension resources at subscription or group scope, eTag per write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ..errors import ArmError
from ..profile import TypeProfile, WriteCtx, defaults


def _check_start(ctx: WriteCtx) -> None:
    """Azure's start-date rules for a monthly budget; the messages are Azure's (code "400")."""
    sent = str((ctx.sent_props.get("timePeriod") or {}).get("startDate") or "")
    old = str(((ctx.existing or {}).get("properties") or {}).get("timePeriod", {}).get("startDate") or "")
    if ctx.existing is not None:
        if sent and sent[:10] != old[:10]:
            # jpsnover/ai-triad-research#1697 (a real deploy's answer).
            raise ArmError(400, "400", "Start date of budgets cannot be updated. Please delete and create a new budget.")
        return
    if not sent:
        raise ArmError(400, "400", "The timePeriod.startDate of a budget is required.")
    try:
        start = datetime.fromisoformat(sent.replace("Z", "+00:00")).date()
    except ValueError:
        raise ArmError(400, "400", f"The start date '{sent}' is not a valid date.") from None
    grain = str(ctx.sent_props.get("timeGrain") or "Monthly").lower()
    if grain in ("monthly", "quarterly", "annually") and start.day != 1:
        # hashicorp/terraform-provider-azurerm#15467: a monthly budget starts on the first of a month.
        raise ArmError(400, "400", "Start date should be the first day of the month.")
    today = datetime.now(UTC).date()
    if grain == "monthly" and (start.year, start.month) < (today.year, today.month):
        # Azure answers a create whose month has passed with this message (seen in real deploys, e.g.
        # hashicorp/terraform-provider-azurerm#12121: "should not be prior to the current month").
        raise ArmError(400, "400", "Start date for monthly time grain should not be prior to current month.")


def _populate(ctx: WriteCtx) -> None:
    _check_start(ctx)
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
