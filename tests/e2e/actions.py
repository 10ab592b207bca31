"""A GitHub Actions stand-in for the workflow rehearsal: the job OIDC token endpoint, the `${{ }}` expressions the
workflows use, and a runner that executes a job's steps as a hosted runner would (bash -eo pipefail, no terminal,
no stdin, CI=true, $GITHUB_STEP_SUMMARY / $GITHUB_OUTPUT files, artifacts between jobs).

What GitHub documents and this follows: the subject of a job's OIDC token (docs.github.com/actions/reference/
security/oidc: `repo:ORG/REPO:environment:NAME` for a job with an environment, `:pull_request` on pull requests,
`:ref:refs/heads/BRANCH` otherwise); the token request (`$ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` with
`Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`, answer `{"value": jwt}`); the default `run` shell on
Linux (`bash --noprofile --norc -eo pipefail {0}`); expressions (docs.github.com/actions/reference/workflows-and-
actions/expressions: `==`/`!=` compare strings ignoring case, `||`/`&&` return an operand, '' and null are false).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from provisioner.localcloud.jwtclaims import encode

ISSUER = "https://token.actions.githubusercontent.com"


class OidcIssuer:
    """The runner's token endpoint: each job gets a request token; each request mints a token `lifetime` s long."""

    def __init__(self, lifetime: float = 300.0) -> None:
        self.lifetime = lifetime
        self.jobs: dict[str, dict[str, Any]] = {}
        self.issued: list[dict[str, Any]] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                request = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
                job = issuer.jobs.get(request)
                query = parse_qs(urlsplit(self.path).query)
                if job is None:
                    self.send_response(401)
                    self.end_headers()
                    return
                now = int(time.time())
                claims = {**job, "iss": ISSUER, "aud": (query.get("audience") or [ISSUER])[0], "iat": now, "nbf": now,
                          "exp": now + int(issuer.lifetime), "jti": str(uuid.uuid4())}
                issuer.issued.append(claims)
                data = json.dumps({"count": 1, "value": encode(claims)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/_apis/distributedtask/token?api-version=2.0"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def job_token(self, claims: dict[str, Any]) -> str:
        token = uuid.uuid4().hex
        self.jobs[token] = claims
        return token

    def close(self) -> None:
        self.server.shutdown()


def subject_claims(repo: str, event: str, job: dict[str, Any], ref: str = "refs/heads/main") -> dict[str, Any]:
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if environment:
        sub = f"repo:{repo}:environment:{environment}"
    elif event == "pull_request":
        sub = f"repo:{repo}:pull_request"
    else:
        sub = f"repo:{repo}:ref:{ref}"
    return {"sub": sub, "repository": repo, "ref": ref, "event_name": event,
            **({"environment": environment} if environment else {})}


# ------------------------------------------------------------------------------------------ expressions
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\)|,)|(?P<num>\d+)|"
                    r"(?P<id>[A-Za-z_][\w.\-]*\(?))")


class Expr:
    """Evaluates the expressions the workflows use against a context dict (github, vars, env, inputs, matrix...)."""

    def __init__(self, context: dict[str, Any], status: str = "success") -> None:
        self.context, self.status = context, status

    def value(self, text: str) -> Any:
        self.tokens = [(m.lastgroup, m.group(m.lastgroup or "")) for m in _TOKEN.finditer(text) if m.lastgroup]
        self.i = 0
        result = self._or()
        if self.i != len(self.tokens):
            raise ValueError(f"cannot evaluate {text!r}")
        return result

    def truthy(self, text: str) -> bool:
        return bool(self.value(text.strip().removeprefix("${{").removesuffix("}}")))

    def interpolate(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _str(self.value(m.group(1))), text)

    def _peek(self) -> tuple[str | None, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, "")

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == ("op", "||"):
            self.i += 1
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._cmp()
        while self._peek() == ("op", "&&"):
            self.i += 1
            right = self._cmp()
            left = left and right
        return left

    def _cmp(self) -> Any:
        left = self._unary()
        while self._peek()[1] in ("==", "!="):
            op = self._peek()[1]
            self.i += 1
            right = self._unary()
            same = _str(left).lower() == _str(right).lower()
            left = same if op == "==" else not same
        return left

    def _unary(self) -> Any:
        kind, tok = self._peek()
        self.i += 1
        if tok == "!":
            return not self._unary()
        if tok == "(":
            inner = self._or()
            self.i += 1
            return inner
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return int(tok)
        if tok.endswith("("):
            name = tok[:-1]
            self.i += 1  # ')'
            return {"always": True, "success": self.status == "success", "failure": self.status == "failure",
                    "cancelled": False}[name]
        value: Any = self.context
        for part in tok.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value


def _str(value: Any) -> str:
    if value is None or value is False:
        return "" if value is None else "false"
    if value is True:
        return "true"
    return str(value)


# ------------------------------------------------------------------------------------------ the runner
@dataclass
class StepResult:
    name: str
    code: int | None  # None: skipped
    output: str = ""


@dataclass
class JobResult:
    workflow: str
    job: str
    matrix: dict[str, Any]
    ok: bool
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""

    def log(self) -> str:
        lines = [f"{self.workflow} / {self.job} {self.matrix or ''}: {'succeeded' if self.ok else 'FAILED'}"]
        for s in self.steps:
            state = "skipped" if s.code is None else f"exit {s.code}"
            lines.append(f"  - {s.name}: {state}")
            if s.code not in (None, 0):
                lines += [f"      {line}" for line in s.output.splitlines()[-40:]]
        if not self.ok and self.summary:
            lines += ["  summary:", *(f"      {line}" for line in self.summary.splitlines()[:80])]
        return "\n".join(lines)


@dataclass
class Runner:
    """Runs jobs of one repository's workflows on this machine, with a stub PATH for the tools a hosted runner
    has (`provisioner` from this checkout, `gh`, `npm`) and a local cloud standing in for Azure."""

    root: Path  # the repository
    work: Path  # scratch: workspaces, artifacts, stubs
    repo: str
    issuer: OidcIssuer
    machine_env: dict[str, str]  # what the runner machine adds (the local cloud's endpoints and CA)
    vars: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)  # folders the repository holds besides its code (a build)
    artifacts: dict[str, Path] = field(default_factory=dict)
    tool_calls: list[list[str]] = field(default_factory=list)

    def workflow(self, name: str) -> dict[str, Any]:
        import yaml

        doc = yaml.safe_load((self.root / ".github" / "workflows" / name).read_text())
        doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as a boolean
        return doc

    def run(self, workflow: str, job_name: str, event: str, event_payload: dict[str, Any] | None = None,
            inputs: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> list[JobResult]:
        """Every matrix combination of one job; a step whose `run` matches one of `skip` is recorded as skipped."""
        doc = self.workflow(workflow)
        job = doc["jobs"][job_name]
        combos = _matrix(job.get("strategy", {}).get("matrix"))
        return [self._job(workflow, doc, job_name, job, event, event_payload or {}, inputs or {}, m, skip)
                for m in combos]

    def _job(self, workflow: str, doc: dict[str, Any], job_name: str, job: dict[str, Any], event: str,
             payload: dict[str, Any], inputs: dict[str, str], matrix: dict[str, Any], skip: tuple[str, ...]) -> JobResult:
        workspace = self.work / f"ws-{uuid.uuid4().hex[:8]}"
        workspace.mkdir(parents=True)
        github = {"repository": self.repo, "event_name": event, "event": payload, "sha": "0" * 40,
                  "ref": "refs/heads/main", "token": "gh-token", "workspace": str(workspace)}
        context: dict[str, Any] = {"github": github, "vars": self.vars, "inputs": inputs, "matrix": matrix,
                                   "env": {}, "steps": {}, "job": {}, "runner": {"os": "Linux"}}
        expr = Expr(context)
        result = JobResult(workflow, job_name, matrix, True)
        if "if" in job and not expr.truthy(str(job["if"])):
            result.steps.append(StepResult("(job skipped by its if:)", None))
            return result
        env = {k: _str(expr.interpolate(v)) for k, v in (doc.get("env") or {}).items()}
        context["env"] = env
        env.update({k: _str(expr.interpolate(v)) for k, v in (job.get("env") or {}).items()})
        summary = workspace / "_summary.md"
        base = {**self.machine_env, "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": self.repo,
                "GITHUB_EVENT_NAME": event, "GITHUB_SHA": github["sha"], "GITHUB_REF": github["ref"],
                "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(workspace),
                "HOME": str(workspace), "PATH": f"{self._stubs()}:{os.environ['PATH']}"}
        if (job.get("permissions") or {}).get("id-token") == "write":
            base["ACTIONS_ID_TOKEN_REQUEST_URL"] = self.issuer.url
            base["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = self.issuer.job_token(subject_claims(self.repo, event, job))
        status = "success"
        for index, step in enumerate(job["steps"]):
            expr.status = status
            name = str(expr.interpolate(step.get("name") or step.get("uses") or step.get("run", "")[:40]))
            condition = step.get("if")
            go = expr.truthy(str(condition)) if condition is not None else status == "success"
            if not go:
                result.steps.append(StepResult(name, None))
                continue
            step_env = {**env, **{k: _str(expr.interpolate(v)) for k, v in (step.get("env") or {}).items()}}
            if "uses" in step:
                code, out = self._uses(step, expr, workspace)
            elif any(re.search(p, step["run"]) for p in skip):
                result.steps.append(StepResult(name + " (not rehearsed)", None))
                continue
            else:
                code, out = self._bash(expr.interpolate(step["run"]), {**base, **step_env}, workspace,
                                       context, step.get("id") or f"step{index}")
            result.steps.append(StepResult(name, code, out))
            if code != 0:
                status = "failure"
                result.ok = False
        result.summary = summary.read_text() if summary.exists() else ""
        return result

    def _bash(self, script: str, env: dict[str, str], workspace: Path, context: dict[str, Any], step_id: str
              ) -> tuple[int, str]:
        output = workspace / "_output"
        output.write_text("")
        path = workspace / f"_{step_id}.sh"
        path.write_text(script)
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=workspace,
                              env={**env, "GITHUB_OUTPUT": str(output)}, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=1200)
        outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
        context["steps"][step_id] = {"outputs": outputs, "outcome": "success" if proc.returncode == 0 else "failure"}
        return proc.returncode, proc.stdout + proc.stderr

    def _uses(self, step: dict[str, Any], expr: Expr, workspace: Path) -> tuple[int, str]:
        action = str(step["uses"]).split("@")[0]
        with_ = {k: _str(expr.interpolate(v)) for k, v in (step.get("with") or {}).items()}
        if action == "actions/checkout":
            for part in ("envs", "ci", ".github", "requirements.lock", "pyproject.toml"):
                if part in self.files:
                    continue  # the test's version of it: what the team committed after the setup
                src = self.root / part
                (shutil.copytree if src.is_dir() else shutil.copy)(src, workspace / part)
            for name, path in self.files.items():
                shutil.copytree(path, workspace / name)
            return 0, "checked out"
        if action in ("./.github/actions/install", "actions/setup-python", "actions/setup-node"):
            return 0, "provided by the test's environment (this checkout's provisioner on PATH)"
        if action == "actions/upload-artifact":
            src = workspace / with_["path"]
            if not src.exists():
                return (1, f"no file at {with_['path']}") if with_.get("if-no-files-found") == "error" else (0, "")
            dest = self.work / "artifacts" / with_["name"]
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / src.name)
            self.artifacts[with_["name"]] = dest
            return 0, f"uploaded {with_['path']}"
        if action == "actions/download-artifact":
            src = self.artifacts.get(with_["name"])
            if src is None:
                return 1, f"no artifact {with_['name']}"
            for f in src.iterdir():
                shutil.copy(f, workspace / f.name)
            return 0, f"downloaded {with_['name']}"
        return 1, f"the rehearsal does not know the action {action}"

    def _stubs(self) -> Path:
        """`provisioner` is this checkout's (run from the job's workspace); `gh` and `npm` record their calls."""
        bin_dir = self.work / "bin"
        if bin_dir.exists():
            return bin_dir
        bin_dir.mkdir(parents=True)
        import sys

        calls = self.work / "tool-calls.jsonl"
        stubs = {
            "provisioner": f'#!/bin/sh\nPYTHONPATH="{self.root}" exec "{sys.executable}" -m provisioner "$@"\n',
            "gh": _recorder(calls, "gh", extra='if [ "$2" = "repos/${GITHUB_REPOSITORY}/issues/${PR}/comments" ] '
                                             '|| echo "$*" | grep -q -- "--paginate"; then echo ""; fi\n'),
            "npm": _recorder(calls, "npm"),
        }
        for name, text in stubs.items():
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        return bin_dir

    def calls(self) -> list[list[str]]:
        path = self.work / "tool-calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _recorder(calls: Path, name: str, extra: str = "") -> str:
    """A stub that appends its argv (and any @file it was given) to the calls file."""
    import sys

    return ("#!/bin/sh\n"
            f'"{sys.executable}" - "$@" <<\'PY\'\n'
            "import json, sys\n"
            "args = sys.argv[1:]\n"
            "files = {a[6:]: open(a[6:]).read() for a in args if a.startswith('body=@')}\n"
            f"open({str(calls)!r}, 'a').write(json.dumps([{name!r}, *args, files]) + '\\n')\n"
            "PY\n" + extra)


def _matrix(matrix: Any) -> list[dict[str, Any]]:
    if not matrix:
        return [{}]
    combos: list[dict[str, Any]] = [{}]
    for key, values in matrix.items():
        if key in ("include", "exclude"):
            continue
        combos = [{**c, key: v} for c in combos for v in values]
    return combos
