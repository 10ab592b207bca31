"""Settling and busy answers: which ARM errors are retried, and when a PostgreSQL server is settled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from provisioner.azure import call, is_transient
from provisioner.core.errors import AzureCallError


class _Resp:
    def __init__(self, status: int, code: str, message: str):
        self.status_code = status
        self.reason = "Conflict"
        self.headers: dict[str, str] = {}
        self._body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()

    def body(self) -> bytes:
        return self._body


def _raise(status: int, code: str, message: str) -> Any:
    def op() -> None:
        raise HttpResponseError(response=_Resp(status, code, message))  # type: ignore[arg-type]
    return op


@pytest.mark.parametrize("code", ["ServerBusy", "ServerIsBusy", "AnotherOperationInProgress", "OperationInProgress"])
def test_busy_codes_are_transient(code):
    with pytest.raises(AzureCallError) as err:
        call(_raise(409, code, "The server is busy."))
    assert err.value.retryable and err.value.code == code


def test_a_plain_conflict_is_permanent_and_fails_at_once():
    # Before: "Conflict" was in TRANSIENT_CODES and was retried until the deadline.
    with pytest.raises(AzureCallError) as err:
        call(_raise(409, "Conflict", "Cannot complete the operation because the site will exceed the number of slots."))
    assert not err.value.retryable


def test_a_conflict_worded_as_in_progress_stays_transient():
    assert is_transient(409, "Conflict", "Cannot modify this site because another operation is in progress.")
    assert not is_transient(409, "Conflict", "The name is already taken.")
    assert not is_transient(409, "RoleAssignmentExists", "The role assignment already exists.")
    assert is_transient(429, "TooManyRequests", "")


# ----------------------------------------------------------------------------- PostgreSQL settling

from tests.support import autospec_clients, session, step  # noqa: E402


def _server(state: str, ha: str, size: int = 32) -> dict:
    return {"properties": {"state": state, "highAvailability": {"mode": "ZoneRedundant", "state": ha},
                           "storage": {"storageSizeGB": size}}}


@pytest.mark.parametrize(("state", "ha", "settled"), [
    ("Ready", "Healthy", True), ("Ready", "NotEnabled", True), ("Updating", "CreatingStandby", False),
    ("Ready", "CreatingStandby", False), ("Ready", "ReplicatingData", False), ("Starting", "Healthy", False),
])
def test_postgres_server_is_settled_on_state_and_ha_not_provisioning_state(state, ha, settled):
    server = step(session("production"), "postgres_server")
    assert server.settled(_server(state, ha)) is settled


def test_postgres_children_wait_for_the_server_and_communication_running_is_steady():
    s = session("production")
    for name in ("postgres_database", "postgres_firewall", "postgres_configuration:require_secure_transport"):
        found = [x for x in s.steps if x.name == name or x.name.startswith(name.split(":")[0] + ":")]
        assert found and all(x.needs_settled == ("postgres_server",) for x in found), name
    comm = step(s, "communication_service")
    assert comm.settled({"properties": {"provisioningState": "Running"}})
    assert not step(s, "web_app").settled({"properties": {"provisioningState": "Running"}})
    assert not comm.settled({"properties": {"provisioningState": "Updating"}})


def test_storage_only_grows_a_larger_live_size_is_not_drift_and_a_smaller_one_is_never_sent():
    from provisioner.engine.reconciler import Policy, decide

    server = step(session("production"), "postgres_server")
    declared = server.config.storage_size_gb
    live = {**_server("Ready", "Healthy", declared * 4), "location": "eastus"}
    body = server.desired({"postgres_server": live, "key_vault": None})
    assert body["properties"]["storage"]["storageSizeGB"] == declared * 4
    change = decide(server, body, live, Policy(), production=True)
    assert not [c for c in change.properties if "storage" in c.path]
    # A live size below the declared one (never happens on Azure) is grown to the declared size.
    smaller = server.desired({"postgres_server": _server("Ready", "Healthy", 16)})
    assert smaller["properties"]["storage"]["storageSizeGB"] == declared
    # The update sends the kept size, never the smaller declared one.
    clients = autospec_clients()
    server.update(clients, body, live, ())
    sent = clients.postgres.servers.begin_update.call_args.args[2]
    assert sent["properties"]["storage"]["storageSizeGB"] == declared * 4


def test_the_executor_waits_for_a_busy_parent_before_writing_a_child():
    from provisioner.core.model import Action, Change, Plan, Status
    from provisioner.engine.executor import Executor, Timing
    from provisioner.engine.graph import build
    from provisioner.engine.reconciler import Policy

    s = session("dev")
    server, db = step(s, "postgres_server"), step(s, "postgres_database")
    clients: Any = autospec_clients()
    seq = iter([_server("Updating", "NotEnabled"), _server("Updating", "NotEnabled"), _server("Ready", "NotEnabled")])
    server.read = lambda c: next(seq, _server("Ready", "NotEnabled"))  # type: ignore[method-assign]
    created: list[str] = []
    db_body = {"properties": {"charset": "UTF8", "collation": "en_US.utf8"}}
    db.read = lambda c: db_body if created else None  # type: ignore[method-assign]
    db.create = lambda c, d: created.append(str(next(seq, None)))  # type: ignore[method-assign]
    graph = build([(server.name, ()), (db.name, (server.name,))])
    ex = Executor([server, db], graph, clients, Policy(), False, 1,
                  Timing(retry_deadline=1, backoff_min=0.01, backoff_max=0.01, settle_deadline=5, poll=0.01))
    outcomes = ex.run(Plan("dev", (Change(db.name, db.ref, Action.CREATE),)), {})
    assert outcomes[0].status is Status.APPLIED
    # The server was read until Ready before the database was written (the iterator was drained).
    assert created == ["None"]


def test_app_insights_companions_are_known_not_unmanaged():
    from types import SimpleNamespace

    from provisioner.azure.inventory import unmanaged

    s = session("dev")
    component = step(s, "app_insights").ref
    group = f"/subscriptions/{component.subscription_id}/resourceGroups/{component.resource_group}/providers"
    listed = [
        SimpleNamespace(id=f"{group}/microsoft.alertsmanagement/smartDetectorAlertRules/Failure Anomalies - {component.name}",
                        type="Microsoft.AlertsManagement/smartDetectorAlertRules"),
        SimpleNamespace(id=f"{group}/microsoft.insights/actiongroups/Application Insights Smart Detection",
                        type="Microsoft.Insights/ActionGroups"),
        SimpleNamespace(id=f"{group}/microsoft.alertsmanagement/smartDetectorAlertRules/Failure Anomalies - other",
                        type="Microsoft.AlertsManagement/smartDetectorAlertRules"),
    ]
    clients: Any = autospec_clients()
    clients.resource.resources.list_by_resource_group.return_value = listed
    found = unmanaged(s.steps, clients, component.resource_group)
    # Another component's rule is not ours: still reported.
    assert [rid for rid, _ in found] == [listed[2].id]
