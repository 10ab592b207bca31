"""Cross-cutting ARM behaviour: auth, api-version, error shapes, PATCH merge, state file, log, faults."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.mgmt.web.models import AppServicePlan, SkuDescription

from provisioner.localcloud import LocalCloud
from provisioner.localcloud.providers import register_all

from .conftest import RG, SUB, raw, rid

GROUP = f"/subscriptions/{SUB}/resourceGroups/{RG}"
THING = f"{GROUP}/providers/Microsoft.Contoso/things/t1"


def test_missing_api_version_is_400(cloud, rg):
    status, body, _ = raw(cloud, "GET", GROUP)
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"


def test_missing_bearer_is_401(cloud, rg):
    status, body, headers = raw(cloud, "GET", GROUP + "?api-version=2025-04-01", token=None)
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in headers


def test_not_found_shapes(cloud, make, rg):
    web = make(WebSiteManagementClient)
    with pytest.raises(ResourceNotFoundError) as err:
        web.web_apps.get(rg, "nope")
    assert err.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as err:
        web.web_apps.get("no-such-group", "nope")
    assert err.value.error.code == "ResourceGroupNotFound"
    status, body, _ = raw(cloud, "PUT", f"/subscriptions/{SUB}/resourceGroups/ghost/providers/Microsoft.Contoso/"
                          "things/t?api-version=1", {"location": "eastus"})
    assert (status, body["error"]["code"]) == (404, "ResourceGroupNotFound")
    status, body, _ = raw(cloud, "PUT", f"{THING}/children/c1?api-version=1", {"properties": {}})
    assert (status, body["error"]["code"]) == (404, "ParentResourceNotFound")


def test_bad_json_and_method(cloud, rg):
    status, body, _ = raw(cloud, "PUT", THING + "?api-version=1", b"{not json")
    assert (status, body["error"]["code"]) == (400, "InvalidRequestContent")
    status, body, _ = raw(cloud, "POST", f"{GROUP}/providers/Microsoft.Contoso/things?api-version=1", {})
    assert status in (400, 405)
    status, _, _ = raw(cloud, "PUT", f"{GROUP}/providers/Microsoft.Contoso/things?api-version=1", {})
    assert status == 405


def test_delete_status_codes(cloud, rg):
    raw(cloud, "PUT", THING + "?api-version=1", {"location": "eastus"})
    assert raw(cloud, "DELETE", THING + "?api-version=1")[0] == 200
    assert raw(cloud, "DELETE", THING + "?api-version=1")[0] == 204


def test_location_normalized_and_patch_merge(cloud, rg):
    status, body, _ = raw(cloud, "PUT", THING + "?api-version=1", {
        "location": "West Europe", "tags": {"a": "1", "b": "2"},
        "properties": {"keep": True, "list": [1, 2], "obj": {"x": 1, "y": {"z": 1}}}})
    assert status == 201 and body["location"] == "westeurope"
    status, body, _ = raw(cloud, "PATCH", THING + "?api-version=1", {
        "tags": {"c": "3"}, "properties": {"list": [3], "obj": {"y": {"w": 2}}}})
    assert status == 200
    assert body["tags"] == {"c": "3"}  # tags replaced as a whole
    assert body["properties"]["list"] == [3]  # lists replaced
    assert body["properties"]["obj"] == {"x": 1, "y": {"z": 1, "w": 2}}  # objects merged recursively
    assert body["properties"]["keep"] is True
    assert body["systemData"]["createdBy"] == "alice@fundrbolt.app"
    status, body, _ = raw(cloud, "PUT", THING + "?api-version=1", {"location": "westeurope", "properties": {}})
    assert status == 200 and "keep" not in body["properties"]  # PUT replaces
    assert raw(cloud, "PATCH", f"{GROUP}/providers/Microsoft.Contoso/things/none?api-version=1", {})[0] == 404


def test_list_returns_value_without_next_link(cloud, rg):
    for n in ("a", "b"):
        raw(cloud, "PUT", f"{GROUP}/providers/Microsoft.Contoso/things/{n}?api-version=1", {"location": "eastus"})
    status, body, _ = raw(cloud, "GET", f"{GROUP}/providers/Microsoft.Contoso/things?api-version=1")
    assert status == 200 and sorted(x["name"] for x in body["value"]) == ["a", "b"] and "nextLink" not in body
    status, body, _ = raw(cloud, "GET", f"/subscriptions/{SUB}/providers/Microsoft.Contoso/things?api-version=1")
    assert len(body["value"]) == 2


def test_caller_from_jwt(cloud, rg):
    payload = base64.urlsafe_b64encode(json.dumps({"unique_name": "bob@fundrbolt.app"}).encode()).decode().rstrip("=")
    raw(cloud, "PUT", THING + "?api-version=1", {"location": "eastus"}, token=f"eyJhbGciOiJub25lIn0.{payload}.sig")
    assert cloud.state()[THING]["systemData"]["createdBy"] == "bob@fundrbolt.app"
    assert cloud.requests()[-1]["caller"] == "bob@fundrbolt.app"


def test_state_file_round_trip(tmp_path: Path):
    state = tmp_path / "state.json"
    with LocalCloud(state_file=state) as c1:
        register_all(c1)
        rmc = ResourceManagementClient(_cred(), SUB, base_url=c1.url, per_call_policies=[_allow()])
        rmc.resource_groups.create_or_update("Rg-Persist", {"location": "eastus"})
        first = c1.state()
    on_disk = json.loads(state.read_text())
    assert on_disk == first and f"/subscriptions/{SUB}/resourceGroups/Rg-Persist" in on_disk
    assert not list(tmp_path.glob("*.tmp"))
    with LocalCloud(state_file=state) as c2:
        rmc = ResourceManagementClient(_cred(), SUB, base_url=c2.url, per_call_policies=[_allow()])
        assert rmc.resource_groups.get("rg-persist").name == "Rg-Persist"
        assert c2.state() == first
        assert c2.activity(), "activity events survive a restart"
        assert c2.tls_url == c1.tls_url, "vaultUri stays stable across restarts"


def test_set_state_and_control_endpoints(cloud):
    seeded = {GROUP: {"id": GROUP, "name": RG, "type": "Microsoft.Resources/resourceGroups", "location": "eastus",
                      "properties": {"provisioningState": "Succeeded"}}}
    cloud.set_state(seeded)
    assert cloud.state() == seeded
    status, body, _ = raw(cloud, "GET", "/_localcloud/state", token=None)
    assert status == 200 and body == seeded
    assert raw(cloud, "PUT", "/_localcloud/state", {}, token=None)[0] == 200
    assert cloud.state() == {}
    assert raw(cloud, "POST", "/_localcloud/faults", {"method": "GET", "path": "x", "status": 500}, token=None)[0] == 201
    assert len(cloud.faults.rules()) == 1
    assert raw(cloud, "DELETE", "/_localcloud/faults", token=None)[0] == 200
    assert cloud.faults.rules() == []
    status, body, _ = raw(cloud, "GET", "/_localcloud/requests", token=None)
    assert status == 200 and isinstance(body, list)


def test_request_log_lines(tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    with LocalCloud(request_log=log) as c:
        register_all(c)
        raw(c, "PUT", GROUP + "?api-version=2025-04-01", {"location": "eastus"},
            headers={"x-ms-correlation-request-id": "corr-1"})
        raw(c, "PUT", f"{GROUP}/providers/Microsoft.Contoso/things/secret?api-version=1",
            {"location": "eastus", "properties": {"password": "hunter2"}})
        raw(c, "GET", GROUP + "?api-version=2025-04-01")
        entries = c.requests()
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert lines == entries and len(lines) == 3
    first = lines[0]
    for key in ("ts", "method", "path", "api_version", "status", "write", "caller", "user_agent",
                "correlation_id", "duration_ms"):
        assert key in first
    assert (first["method"], first["status"], first["write"], first["correlation_id"]) == ("PUT", 201, True, "corr-1")
    assert first["caller"] == "alice@fundrbolt.app" and first["api_version"] == "2025-04-01"
    assert lines[2]["write"] is False
    assert "hunter2" not in log.read_text()


def test_fault_429_is_retried_by_sdk(cloud, make):
    cloud.add_fault({"method": "PUT", "path": "resourcegroups/rg-f", "status": 429, "headers": {"Retry-After": "1"},
                     "times": 1})
    rmc = make(ResourceManagementClient)
    started = time.monotonic()
    assert rmc.resource_groups.create_or_update("rg-f", {"location": "eastus"}).name == "rg-f"
    assert time.monotonic() - started >= 0.9
    statuses = [r["status"] for r in cloud.requests() if r["method"] == "PUT"]
    assert statuses == [429, 201]


def test_fault_after_and_times(cloud, make, rg):
    cloud.add_fault({"method": "GET", "path": f"resourceGroups/{RG}$", "status": 503, "after": 1, "times": 1,
                     "body": {"error": {"code": "Busy", "message": "try later"}}})
    assert raw(cloud, "GET", GROUP + "?api-version=1")[0] == 200
    status, body, _ = raw(cloud, "GET", GROUP + "?api-version=1")
    assert (status, body["error"]["code"]) == (503, "Busy")
    assert raw(cloud, "GET", GROUP + "?api-version=1")[0] == 200


def test_lro_fault_fails_the_operation(cloud, make, rg):
    cloud.add_fault({"method": "PUT", "path": "serverfarms/p-fail", "lro_status": "Failed"})
    web = make(WebSiteManagementClient)
    with pytest.raises(HttpResponseError):
        web.app_service_plans.begin_create_or_update(rg, "p-fail", AppServicePlan(
            location="eastus", sku=SkuDescription(name="B1", tier="Basic"))).result()
    assert cloud.state()[rid("Microsoft.Web/serverfarms/p-fail")]["properties"]["provisioningState"] == "Failed"


def test_serve_runs_standalone(tmp_path: Path):
    state = tmp_path / "s.json"
    proc = subprocess.Popen([sys.executable, "-m", "provisioner.localcloud", "--state-file", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        assert line.startswith("Local cloud listening on http://127.0.0.1:")
        url = line.rsplit(" ", 1)[-1]
        rmc = ResourceManagementClient(_cred(), SUB, base_url=url, per_call_policies=[_allow()])
        rmc.resource_groups.create_or_update("rg-s", {"location": "eastus"})
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert f"/subscriptions/{SUB}/resourceGroups/rg-s" in json.loads(state.read_text())


def _cred():
    from .conftest import StaticCred

    return StaticCred()


def _allow():
    from .conftest import AllowHttp

    return AllowHttp()
