"""Deploy and rollback decisions against the web_apps operation group autospec'd from the real SDK class."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import call

import pytest

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
from provisioner.operate.health import Endpoint, wait_healthy
from tests.support import autospec_clients

T = BackendTarget("rg", "api", "staging", "/health")
SWAP = {"targetSlot": "production", "preserveVnet": True}


def _backend(answers: dict[str, list[str]], target: BackendTarget = T, prod="DOCKER|r/api:v1", slot="DOCKER|r/api:v0"):
    clients = autospec_clients()
    clients.target = SimpleNamespace(local=False, arm_endpoint="https://management.azure.com")
    web = clients.web.web_apps
    web.get_configuration.return_value = {"properties": {"linuxFxVersion": prod}}
    web.get_configuration_slot.return_value = {"properties": {"linuxFxVersion": slot}}
    web.get.return_value = {"properties": {"defaultHostName": "api.azurewebsites.net"}}
    web.get_slot.return_value = {"properties": {"defaultHostName": "api-staging.azurewebsites.net"}}

    def check(endpoint: Endpoint) -> str:
        queue = answers[endpoint.host.split(".")[0]]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    lines: list[str] = []
    return Backend(clients, target, Gates(timeout=0.0, interval=0.0, check=check), lines.append), web


def test_deploy_sets_the_slot_then_swaps_with_production():
    backend, web = _backend({"api-staging": ["503", "200"], "api": ["200"]})
    backend.gates = Gates(timeout=5.0, interval=0.0, check=backend.gates.check)
    done = deploy_backend(backend, "staging", "r/api:v2")
    web.update_configuration_slot.assert_called_once_with("rg", "api", "staging",
                                                          {"properties": {"linuxFxVersion": "DOCKER|r/api:v2"}})
    web.begin_swap_slot.assert_called_once_with("rg", "api", "staging", SWAP)
    web.update_configuration.assert_not_called()  # production is only ever reached by the swap
    assert "production runs r/api:v2" in done and "r/api:v1" in done


def test_unhealthy_slot_never_swaps_and_restores_the_slot():
    backend, web = _backend({"api-staging": ["503"], "api": ["200"]})
    with pytest.raises(DeployFailed, match="slot 'staging' health check failed.*answered 503"):
        deploy_backend(backend, "staging", "r/api:bad")
    web.begin_swap_slot.assert_not_called()
    assert web.update_configuration_slot.call_args_list[-1] == call(
        "rg", "api", "staging", {"properties": {"linuxFxVersion": "DOCKER|r/api:v0"}})


def test_unhealthy_production_swaps_back_at_once():
    backend, web = _backend({"api-staging": ["200"], "api": ["502"]})
    with pytest.raises(DeployFailed, match="production health check failed.*swapped back"):
        deploy_backend(backend, "staging", "r/api:v2")
    assert web.begin_swap_slot.call_args_list == [call("rg", "api", "staging", SWAP)] * 2


def test_rollback_checks_the_previous_version_before_swapping():
    backend, web = _backend({"api-staging": ["200"], "api": ["200"]})
    assert "production runs r/api:v0" in rollback(backend)
    web.begin_swap_slot.assert_called_once_with("rg", "api", "staging", SWAP)
    same, web2 = _backend({"api-staging": ["200"], "api": ["200"]}, slot="DOCKER|r/api:v1")
    with pytest.raises(DeployFailed, match="nothing to roll back"):
        rollback(same)
    web2.begin_swap_slot.assert_not_called()


def test_in_place_without_a_slot():
    backend, web = _backend({"api": ["503"]}, target=BackendTarget("rg", "api", None, "/health"))
    with pytest.raises(DeployFailed, match=r"production \(in place\) health check failed"):
        deploy_backend(backend, "dev", "r/api:v2")
    assert [c.args[2] for c in web.update_configuration.call_args_list] == [
        {"properties": {"linuxFxVersion": "DOCKER|r/api:v2"}}, {"properties": {"linuxFxVersion": "DOCKER|r/api:v1"}}]
    web.begin_swap_slot.assert_not_called()


@pytest.mark.parametrize("bad", ["", "api", "Repo/api:v1", "r/api:v1 && rm", "r/api|x:1", "r/api:"])
def test_image_references_are_checked(bad):
    with pytest.raises(DeployFailed, match="--image"):
        check_image(bad)


def test_image_references_accepted():
    assert check_image("fundrbolt.azurecr.io/fundrbolt-api:1.2.3") == "DOCKER|fundrbolt.azurecr.io/fundrbolt-api:1.2.3"
    assert check_image("localhost:5000/api@sha256:" + "a" * 64).startswith("DOCKER|localhost:5000/api@sha256:")


def test_wait_healthy_is_bounded():
    now = [0.0]
    verdict = wait_healthy(Endpoint("h", "/health"), 30.0, 10.0, lambda e: "503",
                           sleep=lambda s: now.__setitem__(0, now[0] + s), clock=lambda: now[0])
    assert not verdict.healthy and verdict.last == "503"
    assert verdict.attempts == 4 and verdict.seconds == 30.0  # probes at 0, 10, 20, 30 s, never beyond


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
    backend, web = _backend({"api-staging": ["200"], "api": ["200"]})
    web.get_configuration.return_value = None
    with pytest.raises(DeployFailed, match="production not found: provision the environment first"):
        deploy_backend(backend, "staging", "r/api:v2")
    web.update_configuration_slot.assert_not_called()
