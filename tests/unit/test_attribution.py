"""Activity Log attribution against an autospec'd ActivityLogsOperations: who, when, never us, never fatal."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from azure.core.exceptions import HttpResponseError
from azure.mgmt.monitor.models import EventData

from provisioner.azure import CORRELATION_PREFIX, attribution
from provisioner.cli import render
from provisioner.core.model import Action, Attribution, Change, Plan, PropertyChange, ResourceRef
from tests.support import autospec_clients

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-dev-rg"
SITE = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.Web/sites", "fundrbolt-dev-api")
CONFIG = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.Web/sites/config", "web", "sites/fundrbolt-dev-api")
STORAGE = ResourceRef(SUB, "fundrbolt-dev-rg", "Microsoft.Storage/storageAccounts", "fundrboltdevst")
GROUP = ResourceRef(SUB, None, "Microsoft.Resources/resourceGroups", "fundrbolt-dev-rg")


def ev(resource_id: str, caller: str, ts: str, op: str = "Microsoft.Web/sites/write", status: str = "Succeeded",
       correlation: str = "11111111-2222-3333-4444-555555555555") -> EventData:
    """An event as the SDK deserializes it from the real API's JSON."""
    return EventData.deserialize({
        "caller": caller, "correlationId": correlation, "eventTimestamp": ts, "resourceId": resource_id,
        "operationName": {"value": op, "localizedValue": op}, "status": {"value": status, "localizedValue": status},
    })


def who(change: Change) -> Attribution:
    assert change.attribution is not None
    return change.attribution


def plan_of(*changes: Change) -> Plan:
    return Plan("dev", changes)


def drifted(step: str, ref: ResourceRef, action: Action = Action.UPDATE) -> Change:
    return Change(step, ref, action, (PropertyChange("properties.x", 1, 2),), "differs")


def clients_with(events_by_id: dict[str, list[EventData]]) -> SimpleNamespace:
    c = autospec_clients()

    def listing(filter: str, select: str | None = None, **kwargs):  # noqa: A002 - the SDK's parameter name
        rid = filter.split("resourceUri eq '")[1].rstrip("'")
        return iter(events_by_id.get(rid, []))

    c.monitor.activity_logs.list.side_effect = listing
    return c


def test_names_the_latest_person_not_us_and_queries_the_retention_window():
    ours = CORRELATION_PREFIX + "0000-0000-0000-000000000000"
    c = clients_with({SITE.id: [
        ev(SITE.id, "fundrbolt-provisioner", "2025-06-01T11:59:00Z", correlation=ours),  # our own repair: never blamed
        ev(SITE.id, "alice@fundrbolt.app", "2025-06-01T11:00:00Z"),
        ev(SITE.id, "bob@fundrbolt.app", "2025-05-01T11:00:00Z"),
    ]})
    out = attribution.attribute(plan_of(drifted("web_app", SITE)), SimpleNamespace(clients=c), now=NOW)
    a = who(out.changes[0])
    assert (a.caller, a.timestamp, a.operation) == ("alice@fundrbolt.app", "2025-06-01T11:00:00Z", "Microsoft.Web/sites/write")
    kwargs = c.monitor.activity_logs.list.call_args.kwargs
    assert kwargs["filter"] == (f"eventTimestamp ge '2025-03-03T12:00:00Z' and eventTimestamp le '2025-06-01T12:05:00Z' "
                                f"and resourceUri eq '{SITE.id}'")
    assert "caller" in kwargs["select"] and "correlationId" in kwargs["select"]


def test_failed_operations_and_portal_reads_are_not_blamed():
    c = clients_with({STORAGE.id: [
        ev(STORAGE.id, "mallory@x", "2025-06-01T11:50:00Z", "Microsoft.Storage/storageAccounts/write", status="Failed"),
        ev(STORAGE.id, "viewer@x", "2025-06-01T11:40:00Z", "Microsoft.Storage/storageAccounts/listKeys/action"),
        ev(STORAGE.id, "carol@x", "2025-06-01T10:00:00Z", "Microsoft.Storage/storageAccounts/write"),
    ]})
    out = attribution.attribute(plan_of(drifted("storage_account", STORAGE)), SimpleNamespace(clients=c), now=NOW)
    assert who(out.changes[0]).caller == "carol@x"


def test_child_writes_count_for_the_parent_unless_another_step_owns_the_child():
    # A person edits config/web: that is the web_app_config step's drift, not the site's.
    events = [ev(CONFIG.id, "alice@x", "2025-06-01T11:00:00Z", "Microsoft.Web/sites/config/write"),
              ev(SITE.id + "/config/logs", "dave@x", "2025-06-01T10:00:00Z", "Microsoft.Web/sites/config/write")]
    c = clients_with({SITE.id: events, CONFIG.id: events[:1]})
    out = attribution.attribute(plan_of(drifted("web_app", SITE), drifted("web_app_config", CONFIG)),
                                SimpleNamespace(clients=c), now=NOW)
    by_step = {ch.step: who(ch).caller for ch in out.changes}
    assert by_step == {"web_app": "dave@x", "web_app_config": "alice@x"}


def test_a_resource_group_owns_only_itself():
    c = clients_with({GROUP.id: [ev(STORAGE.id, "erin@x", "2025-06-01T11:00:00Z")]})
    out = attribution.attribute(plan_of(drifted("resource_group", GROUP)), SimpleNamespace(clients=c), now=NOW)
    assert who(out.changes[0]).caller == attribution.NOT_FOUND
    assert (render._attribution_dict(out.changes[0]) or {})["status"] == "not_found"


def test_a_deleted_resource_is_attributed_to_the_delete():
    c = clients_with({STORAGE.id: [ev(STORAGE.id, "frank@x", "2025-06-01T11:00:00Z", "Microsoft.Storage/storageAccounts/delete")]})
    out = attribution.attribute(plan_of(drifted("storage_account", STORAGE, Action.CREATE)), SimpleNamespace(clients=c), now=NOW)
    assert who(out.changes[0]).operation.endswith("/delete")


def test_an_activity_log_error_never_fails_drift_and_is_reported():
    c = autospec_clients()
    c.monitor.activity_logs.list.side_effect = HttpResponseError(message="AuthorizationFailed: no read on insights")
    the_plan = plan_of(drifted("web_app", SITE), Change("key_vault", STORAGE, Action.NOOP))
    out = attribution.attribute(the_plan, SimpleNamespace(clients=c), now=NOW)
    a = who(out.changes[0])
    assert a.caller == attribution.UNAVAILABLE and a.timestamp == ""
    assert out.changes[1].attribution is None  # in-sync resources are not looked up
    assert "attribution unavailable" in render.drift_text(out)
    doc = json.loads(render.drift_json(out))
    assert doc["changes"][0]["attribution"]["status"] == "unavailable"
    assert "attribution unavailable" in render.drift_markdown(out)


def test_no_drift_means_no_queries():
    c = autospec_clients()
    the_plan = plan_of(Change("web_app", SITE, Action.NOOP))
    assert attribution.attribute(the_plan, SimpleNamespace(clients=c), now=NOW) is the_plan
    c.monitor.activity_logs.list.assert_not_called()


def test_queries_are_one_per_drifted_resource():
    c = clients_with({})
    refs = [SITE, CONFIG, STORAGE]
    attribution.attribute(plan_of(*[drifted(f"s{i}", r) for i, r in enumerate(refs)]), SimpleNamespace(clients=c), now=NOW)
    asked = sorted(call.kwargs["filter"].split("resourceUri eq '")[1].rstrip("'") for call in c.monitor.activity_logs.list.call_args_list)
    assert asked == sorted(r.id for r in refs)


def test_wire_dicts_and_models_flatten_the_same():
    wire = {"caller": "a", "correlationId": "c", "eventTimestamp": "2025-06-01T11:00:00Z", "resourceId": RG_ID,
            "operationName": {"value": "x/write"}, "status": {"value": "Succeeded"}}
    assert attribution.event(wire) == attribution.event(EventData.deserialize(wire))
