"""Deploy and rollback end to end: the CLI in a subprocess, the real SDK, the local cloud's app hosts."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from provisioner.cli.deploys import gates
from provisioner.localcloud import LocalCloud
from provisioner.localcloud.types.web_static import static_token
from tests.e2e.helpers import cli, rest, rg_path, writes

pytestmark = pytest.mark.e2e

REPO = "fundrbolt.azurecr.io/fundrbolt-api"


@pytest.fixture
def lc(tmp_path: Path) -> Iterator[LocalCloud]:
    with LocalCloud(state_file=tmp_path / "state.json", request_log=tmp_path / "requests.jsonl",
                    unhealthy_images=["broken"]) as c:
        yield c


def _site(env: str, slot: str | None = None) -> str:
    base = f"{rg_path(env)}/providers/Microsoft.Web/sites/fundrbolt-{env}-api"
    return f"{base}/slots/{slot}" if slot else base


def image(cloud: LocalCloud, env: str, slot: str | None = None) -> str:
    status, body = rest(cloud.url, "GET", _site(env, slot) + "/config/web")
    assert status == 200
    return body["properties"]["linuxFxVersion"]


def provision(cloud: LocalCloud, env: str) -> None:
    run = cli("provision", "--env", env, "--arm-endpoint", cloud.url, "--yes")
    assert run.code == 0, run.err + run.out


def deploy(cloud: LocalCloud, env: str, tag: str, *extra: str):
    return cli("deploy", "backend", "--env", env, "--arm-endpoint", cloud.url, "--image", f"{REPO}:{tag}",
               "--health-timeout", "1", *extra)


def marker(cloud: LocalCloud, env: str, slot: str | None = None) -> str | None:
    status, body = rest(cloud.url, "POST", _site(env, slot) + "/config/appsettings/list")
    assert status == 200
    return body["properties"].get("DEPLOY_MARKER")


def tags(cloud: LocalCloud, env: str) -> dict:
    return rest(cloud.url, "GET", _site(env))[1].get("tags") or {}


def swaps(cloud: LocalCloud, since: int = 0) -> list[dict]:
    return [r for r in cloud.requests()[since:] if r["method"] == "POST" and r["path"].endswith("/slotsswap")]


def test_blue_green_deploy_refusal_and_rollback(lc, tmp_path):
    provision(lc, "staging")
    first = image(lc, "staging")
    assert first == f"DOCKER|{REPO}:latest"

    run = deploy(lc, "staging", "v2")
    assert run.code == 0, run.err
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"  # production runs v2
    assert marker(lc, "staging") == f"{REPO}:v2"  # the marker moved with it
    assert image(lc, "staging", "staging") == first  # the slot holds the previous image
    status, site = rest(lc.url, "GET", _site("staging"))
    assert site["properties"]["slotSwapStatus"]["sourceSlotName"] == "staging"
    assert site["tags"]["deploy-current"] == f"{REPO}:v2" and site["tags"]["deploy-previous"] == f"{REPO}:latest"

    bad = deploy(lc, "staging", "broken-3")
    assert bad.code == 1
    assert "slot 'staging' health check failed" in bad.err and "answered 503" in bad.err
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"  # never reached production
    assert image(lc, "staging", "staging") == first  # the rollback target is kept

    hook_file = tmp_path / "hook.txt"
    hooked = deploy(lc, "staging", "v3", "--pre-swap", f"echo $DEPLOY_IMAGE > {hook_file}; exit 3")
    assert hooked.code == 1 and "pre-swap hook failed (exit 3)" in hooked.err
    assert hook_file.read_text().strip() == f"{REPO}:v3"
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"

    back = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url)
    assert back.code == 0, back.err
    assert image(lc, "staging") == first and image(lc, "staging", "staging") == f"DOCKER|{REPO}:v2"
    assert "deploy-previous" not in tags(lc, "staging")

    # A second rollback never swaps the bad version back in: nothing earlier is recorded.
    before = len(lc.requests())
    again = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url)
    assert again.code == 1 and "nothing to roll back to" in again.err, again.err
    assert image(lc, "staging") == first and writes(lc.requests()[before:]) == []


def test_a_slot_still_serving_the_old_version_is_refused_before_the_swap(lc):
    """On App Service the running container answers until the new one has started: the first 200 after the
    image change is the old version. A deploy that only checked for 200 would swap it into production."""
    provision(lc, "staging")
    before = len(lc.requests())
    lc.apphosts.start_seconds = 60.0  # the new container takes a minute to pull and start
    run = deploy(lc, "staging", "v2")  # --health-timeout 1
    assert run.code == 1
    assert "slot 'staging' still serves another version" in run.err, run.err
    assert f"'{REPO}:latest'" not in run.err  # the old container has no marker yet: says so
    assert "nothing was swapped" in run.err
    assert swaps(lc, before) == []
    assert image(lc, "staging") == f"DOCKER|{REPO}:latest"
    assert image(lc, "staging", "staging") == f"DOCKER|{REPO}:latest"  # restored: the rollback target stays
    # All along the slot answered 200 (the old container): a gate that only waited for 200 would have swapped.
    slot_host = rest(lc.url, "GET", _site("staging", "staging"))[1]["properties"]["defaultHostName"]
    assert _get(lc, slot_host, "/health")[0] == 200


def test_a_slow_container_start_is_waited_for(lc):
    provision(lc, "staging")
    lc.apphosts.start_seconds = 1.5
    started = time.monotonic()
    run = cli("deploy", "backend", "--env", "staging", "--arm-endpoint", lc.url, "--image", f"{REPO}:v2",
              "--health-timeout", "20")
    assert run.code == 0, run.err
    assert time.monotonic() - started >= 1.5  # it waited for the new container, not the first 200
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"


def test_unhealthy_production_after_swap_is_swapped_back_within_the_bound(lc):
    provision(lc, "staging")
    assert deploy(lc, "staging", "v2").code == 0
    record = tags(lc, "staging")
    # The production site is stopped (state stays with the site on a swap): it answers 403 after the swap.
    status, _ = rest(lc.url, "POST", _site("staging") + "/stop")
    assert status == 200
    before = len(lc.requests())
    run = deploy(lc, "staging", "v3")
    assert run.code == 1
    assert "production health check failed" in run.err and "answered 403" in run.err and "swapped back" in run.err
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"
    assert image(lc, "staging", "staging") == f"DOCKER|{REPO}:v3"
    first, back = swaps(lc, before)
    seconds = (_ts(back["ts"]) - _ts(first["ts"])).total_seconds()
    bound = gates(local=True, timeout=None).swap_back_within
    print(f"swap -> swap back: {seconds:.2f}s (documented bound {bound:g}s; slot gate timeout "
          f"{gates(local=True, timeout=None).timeout:g}s)")
    assert seconds <= bound
    assert tags(lc, "staging") == record  # the rollback record is what it was before the failed deploy


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_rollback_after_two_deploys_restores_the_right_version(lc):
    provision(lc, "staging")
    assert deploy(lc, "staging", "v2").code == 0
    assert deploy(lc, "staging", "v3").code == 0
    back = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url)
    assert back.code == 0, back.err
    assert f"production runs {REPO}:v2 again" in back.out
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2" and marker(lc, "staging") == f"{REPO}:v2"
    assert image(lc, "staging", "staging") == f"DOCKER|{REPO}:v3"
    again = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url)
    assert again.code == 1 and image(lc, "staging") == f"DOCKER|{REPO}:v2"


def test_redeploying_what_production_runs_changes_nothing_and_keeps_the_rollback_target(lc):
    provision(lc, "staging")
    assert deploy(lc, "staging", "v2").code == 0
    before = len(lc.requests())
    same = deploy(lc, "staging", "v2")
    assert same.code == 0 and "production already runs" in same.out
    assert f"rollback target stays {REPO}:latest" in same.out
    assert writes(lc.requests()[before:]) == [] and swaps(lc, before) == []
    assert cli("rollback", "--env", "staging", "--arm-endpoint", lc.url).code == 0
    assert image(lc, "staging") == f"DOCKER|{REPO}:latest"


def test_rollback_past_the_window_needs_to_be_asked_for(lc):
    provision(lc, "staging")
    assert deploy(lc, "staging", "v2").code == 0
    old = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _ = rest(lc.url, "PATCH", _site("staging") + "/providers/Microsoft.Resources/tags/default",
                     {"operation": "Merge", "properties": {"tags": {"deploy-at": old}}}, api_version="2021-04-01")
    assert status == 200
    late = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url)
    assert late.code == 1 and "past the 30-minute rollback window" in late.err and "--outside-window" in late.err
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"
    forced = cli("rollback", "--env", "staging", "--arm-endpoint", lc.url, "--outside-window")
    assert forced.code == 0, forced.err
    assert image(lc, "staging") == f"DOCKER|{REPO}:latest"


def test_dev_deploys_and_rolls_back_in_place(lc):
    provision(lc, "dev")
    run = deploy(lc, "dev", "v2")
    assert run.code == 0, run.err
    assert "no deployment slot" in run.err and "in place" in run.out
    assert image(lc, "dev") == f"DOCKER|{REPO}:v2" and marker(lc, "dev") == f"{REPO}:v2"
    bad = deploy(lc, "dev", "broken-1")
    assert bad.code == 1 and "production (in place) health check failed" in bad.err
    assert image(lc, "dev") == f"DOCKER|{REPO}:v2" and marker(lc, "dev") == f"{REPO}:v2"
    back = cli("rollback", "--env", "dev", "--arm-endpoint", lc.url)
    assert back.code == 0, back.err
    assert f"restoring the previous image {REPO}:latest in place" in back.err
    assert image(lc, "dev") == f"DOCKER|{REPO}:latest"
    again = cli("rollback", "--env", "dev", "--arm-endpoint", lc.url)
    assert again.code == 1 and "nothing to roll back to" in again.err


def test_bad_input_and_production_confirmation_send_nothing(lc):
    before = len(lc.requests())
    bad = cli("deploy", "backend", "--env", "staging", "--arm-endpoint", lc.url, "--image", "Not An Image")
    assert bad.code == 1 and "--image" in bad.err
    refused = cli("deploy", "backend", "--env", "production", "--arm-endpoint", lc.url, "--image", f"{REPO}:v2")
    assert refused.code == 1 and "pass --yes" in refused.err
    back = cli("rollback", "--env", "production", "--arm-endpoint", lc.url)
    assert back.code == 1 and "pass --yes" in back.err
    assert lc.requests()[before:] == []


def _get(cloud: LocalCloud, host: str, path: str = "/") -> tuple[int, bytes]:
    req = urllib.request.Request(cloud.url + path, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_frontend_deploy(lc, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    empty = cli("deploy", "frontend", "--env", "dev", "--arm-endpoint", lc.url, "--dist", str(dist))
    assert empty.code == 1 and "no index.html" in empty.err
    assert lc.requests() == []  # refused before any request
    (dist / "index.html").write_text("<html>admin v2</html>")
    (dist / "assets" / "app.js").write_text("console.log(2)")
    provision(lc, "dev")
    before = len(lc.requests())
    run = cli("deploy", "frontend", "--env", "dev", "--arm-endpoint", lc.url, "--dist", str(dist))
    assert run.code == 0, run.err
    assert [r["path"].rsplit("/", 1)[-1] for r in writes(lc.requests()[before:])] == []  # listSecrets is a read
    status, body = rest(lc.url, "GET", f"{rg_path('dev')}/providers/Microsoft.Web/staticSites/fundrbolt-dev-admin")
    host = body["properties"]["defaultHostname"]
    assert _get(lc, host) == (200, b"<html>admin v2</html>")
    assert _get(lc, host, "/assets/app.js") == (200, b"console.log(2)")
    assert _get(lc, host, "/events/42") == (200, b"<html>admin v2</html>")  # SPA fallback
    assert static_token(body["id"]) not in run.out + run.err  # the deployment token is never shown


def test_provision_after_a_deploy_keeps_the_deployed_images(lc):
    provision(lc, "staging")
    assert deploy(lc, "staging", "v2").code == 0
    plan = cli("plan", "--env", "staging", "--arm-endpoint", lc.url, "--output", "json")
    assert plan.code == 0, plan.out  # the image, marker and record are owned by deployments: no drift
    provision(lc, "staging")
    assert image(lc, "staging") == f"DOCKER|{REPO}:v2"
    assert image(lc, "staging", "staging") == f"DOCKER|{REPO}:latest"
    # A repair of settings and tags someone changed by hand keeps what the deploy owns.
    record = tags(lc, "staging")
    status, body = rest(lc.url, "POST", _site("staging") + "/config/appsettings/list")
    assert rest(lc.url, "PUT", _site("staging") + "/config/appsettings",
                {"properties": {**body["properties"], "BY_HAND": "1"}})[0] == 200
    assert rest(lc.url, "PATCH", _site("staging") + "/providers/Microsoft.Resources/tags/default",
                {"operation": "Merge", "properties": {"tags": {"temp": "bob"}}}, api_version="2021-04-01")[0] == 200
    drift = cli("drift", "--env", "staging", "--arm-endpoint", lc.url)
    assert drift.code == 2 and "BY_HAND" in drift.out and "temp" in drift.out and "DEPLOY_MARKER" not in drift.out
    provision(lc, "staging")
    assert tags(lc, "staging") == record
    assert marker(lc, "staging") == f"{REPO}:v2"


def test_localcloud_serve_unhealthy_image_flag(tmp_path):
    """`provisioner localcloud serve --unhealthy-image` as a user starts it: a matching image answers 503."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "provisioner", "localcloud", "serve", "--unhealthy-image", "bad",
                             "--unhealthy-image", "broken"], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
        web = f"{rg_path('dev')}/providers/Microsoft.Web"
        assert rest(url, "PUT", rg_path("dev"), {"location": "eastus"})[0] in (200, 201)
        assert rest(url, "PUT", f"{web}/serverfarms/p", {"location": "eastus", "sku": {"name": "B1"},
                                                         "properties": {"reserved": True}})[0] in (200, 201, 202)
        for name, tag in (("ok-api", "v1"), ("bad-api", "broken-2")):
            status, _ = rest(url, "PUT", f"{web}/sites/{name}", {
                "location": "eastus", "kind": "app,linux,container", "properties": {
                    "serverFarmId": f"{web}/serverfarms/p", "siteConfig": {"linuxFxVersion": f"DOCKER|{REPO}:{tag}"}}})
            assert status in (200, 201, 202)
        for name, expected in (("ok-api", 200), ("bad-api", 503)):
            req = urllib.request.Request(f"{url}/health", headers={"Host": f"{name}.azurewebsites.net"})
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status == expected, name
    finally:
        proc.terminate()
        proc.wait(timeout=10)
