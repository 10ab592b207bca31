"""Deploy and rollback decisions against the web_apps operation group autospec'd from the real SDK class."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from unittest.mock import call

import pytest

from provisioner.cli.deploys import gates
from provisioner.operate.deploy import (
    Backend,
    BackendTarget,
    DeployFailed,
    Gates,
    check_image,
    deploy_backend,
    rollback,
)
from provisioner.operate.frontend import FrontendDeployFailed, check_dist, upload_swa_cli
from provisioner.operate.health import Answer, Endpoint, wait_healthy, watch
from tests.support import autospec_clients

T = BackendTarget("rg", "api", "staging", "/health")
SWAP = {"targetSlot": "production", "preserveVnet": True}
SITE = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/api"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _backend(answers: dict[str, list[Answer]], target: BackendTarget = T, prod="DOCKER|r/api:v1",
             slot="DOCKER|r/api:v0", tags: dict | None = None):
    """A backend over autospec'd clients; `answers` per host (first label), the last one repeats."""
    clients = autospec_clients()
    clients.target = SimpleNamespace(local=False, arm_endpoint="https://management.azure.com")
    web = clients.web.web_apps
    web.get_configuration.return_value = {"properties": {"linuxFxVersion": prod}}
    web.get_configuration_slot.return_value = {"properties": {"linuxFxVersion": slot}}
    web.list_application_settings.return_value = {"properties": {"A": "1", "DEPLOY_MARKER": prod.split("|")[1]}}
    web.list_application_settings_slot.return_value = {"properties": {"A": "1", "DEPLOY_MARKER": slot.split("|")[1]}}
    record = tags if tags is not None else {"deploy-current": prod.split("|")[1], "deploy-previous": slot.split("|")[1],
                                            "deploy-at": "2026-12-01T11:50:00Z"}
    web.get.return_value = {"id": SITE, "tags": record, "properties": {"defaultHostName": "api.azurewebsites.net"}}
    web.get_slot.return_value = {"properties": {"defaultHostName": "api-staging.azurewebsites.net"}}
    # Reads see the writes, as on Azure.
    web.update_configuration.side_effect = lambda rg, site, body: setattr(
        web.get_configuration, "return_value", body)
    web.update_configuration_slot.side_effect = lambda rg, site, slot, body: setattr(
        web.get_configuration_slot, "return_value", body)

    def check(endpoint: Endpoint) -> Answer:
        queue = answers[endpoint.host.split(".")[0]]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    lines: list[str] = []
    gates = Gates(timeout=5.0, interval=0.0, watch=0.0, watch_interval=0.0, failures=2, probe_timeout=1.0, check=check)
    return Backend(clients, target, gates, lines.append), web, clients.resource.tags


def ok(version: str) -> Answer:
    return Answer("200", f"r/api:{version}")


def _merged(tags) -> list[dict]:
    return [c.args[1]["properties"]["tags"] for c in tags.begin_update_at_scope.call_args_list
            if c.args[1]["operation"] == "Merge"]


def test_deploy_sets_image_then_marker_on_the_slot_waits_for_the_new_version_and_records_the_previous():
    backend, web, tags = _backend({"api-staging": [ok("v0"), Answer("503"), ok("v2")], "api": [ok("v2")]})
    done = deploy_backend(backend, "staging", "r/api:v2", now=lambda: NOW)
    web.update_configuration_slot.assert_called_once_with("rg", "api", "staging",
                                                          {"properties": {"linuxFxVersion": "DOCKER|r/api:v2"}})
    web.update_application_settings_slot.assert_called_once_with(
        "rg", "api", "staging", {"properties": {"A": "1", "DEPLOY_MARKER": "r/api:v2"}})
    web.begin_swap_slot.assert_called_once_with("rg", "api", "staging", SWAP)
    web.update_configuration.assert_not_called()  # production is only ever reached by the swap
    assert _merged(tags) == [{"deploy-current": "r/api:v2", "deploy-previous": "r/api:v1",
                              "deploy-at": "2026-12-01T12:00:00Z"}]
    assert "production runs r/api:v2" in done and "r/api:v1" in done


def test_a_slot_answering_200_as_the_old_version_never_swaps_and_is_restored():
    backend, web, tags = _backend({"api-staging": [ok("v0")], "api": [ok("v1")]})
    with pytest.raises(DeployFailed, match="slot 'staging' still serves another version.*'r/api:v0'"):
        deploy_backend(backend, "staging", "r/api:v2")
    web.begin_swap_slot.assert_not_called()
    assert web.update_configuration_slot.call_args_list[-1] == call(
        "rg", "api", "staging", {"properties": {"linuxFxVersion": "DOCKER|r/api:v0"}})
    tags.begin_update_at_scope.assert_not_called()


def test_unhealthy_slot_never_swaps():
    backend, web, _ = _backend({"api-staging": [Answer("503", "r/api:v2")], "api": [ok("v1")]})
    with pytest.raises(DeployFailed, match="slot 'staging' health check failed.*answered 503"):
        deploy_backend(backend, "staging", "r/api:bad")
    web.begin_swap_slot.assert_not_called()


def test_unhealthy_production_swaps_back_after_two_bad_answers_and_keeps_the_record():
    backend, web, tags = _backend({"api-staging": [ok("v2")], "api": [ok("v2"), Answer("502"), Answer("502")]})
    backend.gates = Gates(timeout=5.0, interval=0.0, watch=10.0, watch_interval=0.0, failures=2, probe_timeout=1.0,
                          check=backend.gates.check)
    with pytest.raises(DeployFailed, match="production health check failed.*answered 502.*swapped back"):
        deploy_backend(backend, "staging", "r/api:v2", now=lambda: NOW)
    assert web.begin_swap_slot.call_args_list == [call("rg", "api", "staging", SWAP)] * 2
    assert _merged(tags)[-1] == {"deploy-current": "r/api:v1", "deploy-previous": "r/api:v0",
                                 "deploy-at": "2026-12-01T11:50:00Z"}


def test_deploying_what_production_runs_writes_nothing():
    backend, web, tags = _backend({"api-staging": [ok("v0")], "api": [ok("v1")]})
    assert "nothing to deploy; the rollback target stays r/api:v0" in deploy_backend(backend, "staging", "r/api:v1")
    web.update_configuration_slot.assert_not_called()
    web.begin_swap_slot.assert_not_called()
    tags.begin_update_at_scope.assert_not_called()


def test_rollback_restores_the_recorded_version_and_clears_it():
    backend, web, tags = _backend({"api-staging": [ok("v0")], "api": [ok("v0")]})
    assert "production runs r/api:v0 again" in rollback(backend, now=lambda: NOW)
    web.update_configuration_slot.assert_not_called()  # the slot already holds it
    web.begin_swap_slot.assert_called_once_with("rg", "api", "staging", SWAP)
    deleted = [c.args[1] for c in tags.begin_update_at_scope.call_args_list if c.args[1]["operation"] == "Delete"]
    assert deleted == [{"operation": "Delete", "properties": {"tags": {"deploy-previous": "r/api:v0"}}}]


def test_rollback_puts_the_recorded_version_on_the_slot_when_it_is_not_there():
    backend, web, _ = _backend({"api-staging": [ok("v0")], "api": [ok("v0")]}, slot="DOCKER|r/api:v9",
                               tags={"deploy-current": "r/api:v1", "deploy-previous": "r/api:v0",
                                     "deploy-at": "2026-12-01T11:50:00Z"})
    rollback(backend, now=lambda: NOW)
    web.update_configuration_slot.assert_called_once_with("rg", "api", "staging",
                                                          {"properties": {"linuxFxVersion": "DOCKER|r/api:v0"}})


@pytest.mark.parametrize(("tags", "message"), [
    ({"deploy-current": "r/api:v1", "deploy-at": "2026-12-01T11:50:00Z"}, "nothing to roll back to"),
    ({}, "no rollback target recorded"),
    ({"deploy-current": "r/api:v7", "deploy-previous": "r/api:v0"}, "changed outside provisioner"),
    ({"deploy-current": "r/api:v1", "deploy-previous": "r/api:v0", "deploy-at": "2026-12-01T11:00:00Z"},
     "past the 30-minute rollback window"),
])
def test_rollback_refusals_write_nothing(tags, message):
    backend, web, tag_api = _backend({"api-staging": [ok("v0")], "api": [ok("v1")]}, tags=tags)
    with pytest.raises(DeployFailed, match=message):
        rollback(backend, now=lambda: NOW)
    web.begin_swap_slot.assert_not_called()
    tag_api.begin_update_at_scope.assert_not_called()


def test_outside_window_rolls_back_anyway():
    backend, web, _ = _backend({"api-staging": [ok("v0")], "api": [ok("v0")]},
                               tags={"deploy-current": "r/api:v1", "deploy-previous": "r/api:v0",
                                     "deploy-at": "2026-12-01T09:00:00Z"})
    rollback(backend, outside_window=True, now=lambda: NOW)
    web.begin_swap_slot.assert_called_once()


def test_in_place_without_a_slot():
    backend, web, _ = _backend({"api": [Answer("503", "r/api:v2")]}, target=BackendTarget("rg", "api", None, "/health"))
    with pytest.raises(DeployFailed, match=r"production \(in place\) health check failed"):
        deploy_backend(backend, "dev", "r/api:v2")
    assert [c.args[2] for c in web.update_configuration.call_args_list] == [
        {"properties": {"linuxFxVersion": "DOCKER|r/api:v2"}}, {"properties": {"linuxFxVersion": "DOCKER|r/api:v1"}}]
    web.begin_swap_slot.assert_not_called()


def test_in_place_runs_the_pre_swap_hook_before_the_site_restarts(tmp_path):
    """No slot (dev's Basic plan): the migrations still run, first; a failing hook changes nothing."""
    out = tmp_path / "hook"
    backend, web, _ = _backend({"api": [ok("v2")]}, target=BackendTarget("rg", "api", None, "/health"))
    deploy_backend(backend, "dev", "r/api:v2", pre_swap=f"echo \"$DEPLOY_IMAGE|$DEPLOY_SLOT_URL\" > {out}")
    assert out.read_text() == "r/api:v2|\n"
    web.update_configuration.assert_called_once_with("rg", "api", {"properties": {"linuxFxVersion": "DOCKER|r/api:v2"}})
    failing, web, _ = _backend({"api": [ok("v2")]}, target=BackendTarget("rg", "api", None, "/health"))
    with pytest.raises(DeployFailed, match=r"pre-swap hook failed \(exit 4\)"):
        deploy_backend(failing, "dev", "r/api:v2", pre_swap="exit 4")
    web.update_configuration.assert_not_called()


def test_rollback_in_place_names_and_restores_the_previous_image():
    backend, web, _ = _backend({"api": [ok("v0")]}, target=BackendTarget("rg", "api", None, "/health"))
    assert "production runs r/api:v0 again (in place)" in rollback(backend, now=lambda: NOW)
    web.update_configuration.assert_called_once_with("rg", "api", {"properties": {"linuxFxVersion": "DOCKER|r/api:v0"}})


@pytest.mark.parametrize("bad", ["", "api", "Repo/api:v1", "r/api:v1 && rm", "r/api|x:1", "r/api:"])
def test_image_references_are_checked(bad):
    with pytest.raises(DeployFailed, match="--image"):
        check_image(bad)


def test_image_references_accepted():
    assert check_image("fundrbolt.azurecr.io/fundrbolt-api:1.2.3") == "DOCKER|fundrbolt.azurecr.io/fundrbolt-api:1.2.3"
    assert check_image("localhost:5000/api@sha256:" + "a" * 64).startswith("DOCKER|localhost:5000/api@sha256:")


def test_wait_healthy_is_bounded():
    now = [0.0]
    verdict = wait_healthy(Endpoint("h", "/health"), 30.0, 10.0, lambda e: Answer("503"),
                           sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    assert not verdict.healthy and verdict.last.status == "503"
    assert verdict.attempts == 4 and verdict.seconds == 30.0  # probes at 0, 10, 20, 30 s, never beyond


def test_the_watch_swaps_back_within_its_bound_not_the_health_timeout():
    """Two bad answers in a row end the watch: failures x probe timeout + (failures - 1) x interval."""
    now = [0.0]

    def slow_503(endpoint):
        now[0] += 5.0  # each probe takes its whole timeout
        return Answer("503")

    g = gates(local=False, timeout=None)
    verdict = watch(Endpoint("h", "/health"), "v2", g.watch, g.watch_interval, g.failures, slow_503,
                    sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    assert not verdict.healthy and verdict.attempts == 2
    assert now[0] == g.swap_back_within == 15.0 < g.timeout
    one_blip = iter([Answer("503"), Answer("200", "v2")] + [Answer("200", "v2")] * 100)
    assert watch(Endpoint("h", "/health"), "v2", 10.0, 1.0, 2, lambda e: next(one_blip),
                 sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0]).healthy


def test_dist_is_checked_before_any_request(tmp_path):
    with pytest.raises(FrontendDeployFailed, match="not a folder"):
        check_dist(tmp_path / "missing")
    with pytest.raises(FrontendDeployFailed, match="no index.html"):
        check_dist(tmp_path)


def test_swa_cli_gets_the_token_in_its_environment_never_on_the_command_line(tmp_path):
    seen = {}

    def run(argv, env, check):
        seen.update(argv=argv, token=env["SWA_CLI_DEPLOYMENT_TOKEN"])
        return SimpleNamespace(returncode=0)

    upload_swa_cli(tmp_path, "s3cr3t-token", swa="/usr/bin/swa", run=run)
    assert seen["argv"] == ["/usr/bin/swa", "deploy", str(tmp_path), "--env", "production"]
    assert seen["token"] == "s3cr3t-token" and "s3cr3t-token" not in " ".join(seen["argv"])


def test_an_environment_never_provisioned_is_named():
    backend, web, _ = _backend({"api-staging": [ok("v2")], "api": [ok("v2")]})
    web.get_configuration.return_value = None
    with pytest.raises(DeployFailed, match="production not found: provision the environment first"):
        deploy_backend(backend, "staging", "r/api:v2")
    web.update_configuration_slot.assert_not_called()


def _swap_error(status: int, code: str, message: str):
    import json

    from azure.core.exceptions import HttpResponseError
    from azure.core.pipeline.transport import RequestsTransportResponse
    from azure.core.rest import HttpRequest
    from requests import Response

    answer = Response()
    answer.status_code = status
    answer._content = json.dumps({"error": {"code": code, "message": message}}).encode()
    answer.headers["Content-Type"] = "application/json"
    return HttpResponseError(response=RequestsTransportResponse(
        HttpRequest("POST", f"https://management.azure.com{SITE}/slots/staging/slotsswap"), answer))


def test_a_swap_refused_for_want_of_a_role_is_an_error_not_a_failed_version():
    from provisioner.core.errors import AzureCallError
    from provisioner.operate.drill_services import app_drill

    # ARM's AuthorizationFailed, as the REST reference words it for an action the caller's roles lack.
    refused = _swap_error(403, "AuthorizationFailed", "The client 'ci-drill' with object id '0' does not have "
                          "authorization to perform action 'Microsoft.Web/sites/slots/slotsswap/action' over scope "
                          f"'{SITE}/slots/staging' or the scope is invalid.")
    backend, web, _ = _backend({"api-staging": [ok("v2")], "api": [ok("v1")]})
    web.begin_swap_slot.side_effect = refused
    with pytest.raises(AzureCallError, match="slotsswap/action") as caught:
        deploy_backend(backend, "staging", "r/api:v2")
    assert not isinstance(caught.value, DeployFailed)
    # The drill does not call it a missed target (exit 2): the error reaches the drill's row as ERROR.
    backend, web, _ = _backend({"api-staging": [ok("v1")], "api": [ok("v1")]})
    web.begin_swap_slot.side_effect = refused
    with pytest.raises(AzureCallError):
        app_drill(backend, "staging")


def test_a_swap_azure_reverts_is_a_failed_deploy_naming_production_unchanged():
    backend, web, _ = _backend({"api-staging": [ok("v2")], "api": [ok("v1")]})
    web.begin_swap_slot.side_effect = _swap_error(400, "BadRequest", "Cannot swap slots because the warm-up failed.")
    with pytest.raises(DeployFailed, match="the swap did not complete.*production unchanged"):
        deploy_backend(backend, "staging", "r/api:v2")
