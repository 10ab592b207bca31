"""Regenerate the samples in README.md and docs/*.md from real runs, so they cannot drift from what the CLI prints.

Usage: python scripts/readme_samples.py [--check]

Runs the real CLI (subprocesses) against a local cloud and rewrites each block between
`<!-- sample:NAME -->` and `<!-- /sample:NAME -->` in whichever of README.md and docs/*.md holds it. Other text
is left alone.
`--check` rewrites nothing: exit 1 when a block differs from a fresh run, comparing with timestamps,
durations, ports and generated ids masked (they change every run; the shape and the counts may not).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.cli import ci_setup, exitcodes  # noqa: E402
from provisioner.localcloud import LocalCloud  # noqa: E402

README = ROOT / "README.md"


def sample_files() -> list[Path]:
    """Every file that may hold samples: the README and the pages under docs/."""
    return [README, *sorted((ROOT / "docs").glob("*.md"))]

SUB = "00000000-0000-0000-0000-000000000000"
RG = f"/subscriptions/{SUB}/resourceGroups/fundrbolt-dev-rg"
MARK = re.compile(r"(<!-- sample:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /sample:(?P=name) -->)", re.S)


def run_process(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "provisioner", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# How each CLI process is started: the test swaps in one forked from a process with the SDKs imported
# (tests/e2e/forked.py), with the same signature.
RUN = run_process


def cli(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AZURE_SUBSCRIPTION_ID", None)
    proc = RUN(list(args), env, ROOT, 600)
    return proc.returncode, proc.stdout, proc.stderr


def rest(url: str, method: str, path: str, body: Any = None, caller: str = "alice@fundrbolt.app",
         api_version: str = "2024-11-01") -> tuple[int, Any]:
    req = urllib.request.Request(f"{url}{path}?api-version={api_version}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {caller}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def fenced(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip()}\n```\n"


def abridge_plan(text: str, keep: int = 3) -> str:
    """The headline, the first `keep` resources and the last one; '...' for the rest."""
    lines = text.rstrip().splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"\s{2}\s*[-+~/ ]{1,3} \S+  \(", line)]
    if len(starts) <= keep + 1:
        return text
    return "\n".join(lines[:starts[keep]] + ["    ..."] + lines[starts[-1]:]) + "\n"


def pending_only(doc: dict[str, Any]) -> dict[str, Any]:
    """A plan document with its noop changes left out (the summary still counts them)."""
    return {**doc, "changes": [c for c in doc["changes"] if c["action"] != "noop"]}


def compact(doc: dict[str, Any]) -> str:
    """JSON with one line per key and per list item: the shape reads at a glance."""
    lines = ["{"]
    for i, (key, value) in enumerate(doc.items()):
        comma = "," if i < len(doc) - 1 else ""
        if isinstance(value, list) and value:
            items = [f"    {json.dumps(v)}" for v in value]
            lines += [f'  "{key}": [', ",\n".join(items), f"  ]{comma}"]
        else:
            lines.append(f'  "{key}": {json.dumps(value)}{comma}')
    return "\n".join(lines + ["}"])


def exit_codes_table() -> str:
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| {code} | {text} |" for code, text in exitcodes.MEANINGS.items()]
    return "\n".join(rows) + "\n"


def generate() -> dict[str, str]:
    samples: dict[str, str] = {"exit-codes": exit_codes_table(),
                               # docs/ci.md: the setup script, from ci/identities.toml (the rehearsal runs it)
                               "ci-setup": fenced(ci_setup.az_script(ci_setup.load(ROOT / "ci")).rstrip("\n"), "bash")}
    with tempfile.TemporaryDirectory() as tmp, LocalCloud(state_file=Path(tmp) / "state.json") as cloud:
        url = cloud.url
        code, out, err = cli("plan", "--env", "production", "--arm-endpoint", url)
        assert code == 2, err
        samples["plan-text"] = fenced(abridge_plan(out))
        # dev as after its first runs (README "Order of first runs"): production delegates dev's zone, and dev's
        # next run completes what waited for that (bindings, certificate, e-mail).
        for env in ("dev", "production", "dev"):
            code, out, err = cli("provision", "--env", env, "--arm-endpoint", url, "--yes")
            assert code == 0, err

        # Changes made by hand, as people in the portal would: the caller is whatever the bearer token says.
        site = f"{RG}/providers/Microsoft.Web/sites/fundrbolt-dev-api"
        status, body = rest(url, "PATCH", f"{site}/config/web", {"properties": {"minTlsVersion": "1.0",
                                                                               "ftpsState": "AllAllowed"}})
        assert status == 200, body
        code, out, err = cli("plan", "--env", "dev", "--arm-endpoint", url, "--output", "json")
        assert code == 2, err
        samples["plan-json"] = fenced(compact(pending_only(json.loads(out))), "json")
        samples["rest"] = fenced(
            f"curl -s -X PATCH '{url}{site}/config/web?api-version=2024-11-01' \\\n"
            "  -H 'Authorization: Bearer alice@fundrbolt.app' -H 'Content-Type: application/json' \\\n"
            "  -d '{\"properties\": {\"minTlsVersion\": \"1.0\", \"ftpsState\": \"AllAllowed\"}}'\n"
            f"# HTTP {status}; the Activity Log records the write as alice@fundrbolt.app:\n"
            f"curl -s '{url}/_localcloud/activity' | jq '.[-1] | {{caller, operationName, eventTimestamp}}'\n"
            + json.dumps({k: cloud.activity()[-1].get(k) for k in ("caller", "operationName", "eventTimestamp")},
                         indent=2), "bash")
        status, body = rest(url, "PATCH", f"{RG}/providers/Microsoft.Cache/redisEnterprise/fundrbolt-dev-amr",
                            {"properties": {"publicNetworkAccess": "Disabled"}}, caller="bob@fundrbolt.app",
                            api_version="2025-07-01")
        assert status in (200, 202), body
        status, body = rest(url, "PATCH", f"{RG}/providers/Microsoft.Storage/storageAccounts/fundrboltdevst",
                            {"tags": {**(rest(url, "GET", f"{RG}/providers/Microsoft.Storage/storageAccounts/"
                                                         "fundrboltdevst", caller="bob@fundrbolt.app")[1]["tags"]),
                                      "temp": "bob"}}, caller="bob@fundrbolt.app")
        assert status == 200, body

        code, out, err = cli("drift", "--env", "dev", "--arm-endpoint", url)
        assert code == 2, err
        samples["drift-text"] = fenced(out)
        code, out, err = cli("provision", "--env", "dev", "--arm-endpoint", url, "--output", "json")
        assert code == 0, err
        doc = json.loads(out)
        doc = {"plan": "(the plan document, exactly as plan --output json prints it)",
               "outcomes": [o for o in doc["outcomes"] if o["status"] != "unchanged"]}
        samples["provision-json"] = fenced(compact(doc), "json")
        samples.update(locked_samples(url))
        samples.update(deploy_samples(url))
    return samples


def locked_samples(url: str) -> dict[str, str]:
    """Production: bob opens the database to every address (under the server's lock), weakens the API's TLS
    and tags the storage account. The open rule comes first, with the command that lifts the lock."""
    bob, prod = "bob@fundrbolt.app", RG.replace("fundrbolt-dev-rg", "fundrbolt-production-rg")
    storage = f"{prod}/providers/Microsoft.Storage/storageAccounts/fundrboltproductionst"
    tags = rest(url, "GET", storage, caller=bob)[1]["tags"]
    assert rest(url, "PATCH", storage, {"tags": {**tags, "temp": "bob"}}, caller=bob)[0] == 200
    site = f"{prod}/providers/Microsoft.Web/sites/fundrbolt-production-api"
    assert rest(url, "PATCH", f"{site}/config/web", {"properties": {"minTlsVersion": "1.0"}}, caller=bob)[0] == 200
    rule = f"{prod}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-production-pg/firewallRules/AllowAll"
    status, body = rest(url, "PUT", rule, {"properties": {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}},
                        caller=bob, api_version="2024-08-01")
    assert status < 300, body
    code, drift, err = cli("drift", "--env", "production", "--arm-endpoint", url)
    assert code == 2, err
    code, out, err = cli("provision", "--env", "production", "--arm-endpoint", url, "--yes")
    assert code == 0, err
    lines = out.rstrip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Applied "))
    while start > 0 and lines[start - 1].startswith(("  ! ", "      fix: ", "  … ", "  x ")):
        start -= 1
    return {"drift-locked": fenced(drift), "provision-left": fenced("\n".join(lines[start:]))}


SHARED_ACR = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/fundrbolt-shared-rg/providers/"
              "Microsoft.ContainerRegistry/registries/fundrbolt")


def deploy_samples(url: str) -> dict[str, str]:
    """Staging: a deploy, a rollback, and a second rollback that is refused (stderr, then the result line)."""
    code, out, err = cli("provision", "--env", "staging", "--arm-endpoint", url, "--yes")
    assert code == 0, err
    image = "fundrbolt.azurecr.io/fundrbolt-api:1.4.2"
    # The application's pipeline pushes the image first (ARM Registries_ImportImage); the deploy checks it is there.
    status, body = rest(url, "POST", f"{SHARED_ACR}/importImage", {
        "source": {"registryUri": "docker.io", "sourceImage": "library/nginx:latest"},
        "targetTags": [image.split("/", 1)[1]], "mode": "Force"}, api_version="2023-07-01")
    assert status == 202, body
    code, out, err = cli("deploy", "backend", "--env", "staging", "--arm-endpoint", url, "--image", image)
    assert code == 0, err
    text = f"$ provisioner deploy backend --env staging --image {image}\n" + err + out
    code, out, err = cli("rollback", "--env", "staging", "--arm-endpoint", url)
    assert code == 0, err
    text += "$ provisioner rollback --env staging\n" + err + out
    code, out, err = cli("rollback", "--env", "staging", "--arm-endpoint", url)
    assert code == 1, err
    text += "$ provisioner rollback --env staging\n" + err + out + "# exit 1\n"
    return {"deploy-text": fenced(text)}


def normalize(text: str) -> str:
    """Mask what changes every run: timestamps, 'Ns ago', durations, ports, GUIDs."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?", "<time>", text)
    text = re.sub(r"\(\d+[smhd] ago\)", "(<ago>)", text)
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)
    text = re.sub(r"\"seconds\": [\d.]+", "\"seconds\": <s>", text)
    text = re.sub(r"\b\d+\.\d+s\b", "<s>", text)
    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<guid>", text)


def apply(text: str, samples: dict[str, str]) -> tuple[str, list[str]]:
    """The text with each marked block replaced; also the names of blocks whose content changed shape."""
    stale: list[str] = []

    def swap(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in samples:
            return m.group(0)
        if normalize(m["body"]) != normalize(samples[name]):
            stale.append(name)
        return m.group(1) + samples[name] + m.group(4)

    return MARK.sub(swap, text), stale


def unplaced(texts: dict[Path, str], samples: dict[str, str]) -> list[str]:
    """Samples that no file has a marker for, and markers that name no sample (a typo hides a stale block)."""
    seen = {m["name"] for text in texts.values() for m in MARK.finditer(text)}
    return (sorted(f"{name} (no marker in README.md or docs/)" for name in set(samples) - seen)
            + sorted(f"{name} (a marker with no such sample)" for name in seen - set(samples)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a sample is out of date")
    args = parser.parse_args(argv)
    texts = {path: path.read_text() for path in sample_files()}
    samples = generate()
    stale = unplaced(texts, samples)
    for path, text in texts.items():
        updated, changed = apply(text, samples)
        stale += [f"{name} in {path.relative_to(ROOT)}" for name in changed]
        if not args.check and updated != text:
            path.write_text(updated)
    if args.check:
        for name in stale:
            print(f"sample '{name}' is out of date: run python scripts/readme_samples.py", file=sys.stderr)
        return 1 if stale else 0
    print(f"{len(stale)} sample(s) changed" + (f" ({', '.join(stale)})" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
