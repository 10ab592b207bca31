"""A saved plan: what `plan --out-plan FILE` wrote, and whether a fresh plan is still exactly that (pure).

`provision --plan FILE` applies a saved plan only while a fresh read of the environment plans the very same
changes (same resources, actions, paths, before and after values): then what is applied is what was reviewed. A
live change since (someone's edit in the portal, another run, a different set of env files) makes the fresh
plan differ, and the apply is refused naming each change that moved. The file holds the plan as `--output json`
shows it (secrets `(sensitive)`) plus a salted SHA-256 of every planned value, so it compares secrets (a
rotated cache key) without holding them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from provisioner.core.errors import ProvisionerError
from provisioner.core.model import Action, Change, Plan

KIND = "fundrbolt-provisioner/saved-plan"
SCHEMA = 1


class SavedPlanError(ProvisionerError):
    """The file is not a saved plan for this environment and subscription."""


@dataclass(frozen=True)
class Moved:
    """One difference between the reviewed plan and a fresh one."""

    step: str
    id: str
    what: str

    def __str__(self) -> str:
        return f"{self.step} ({self.id}): {self.what}"


def _digest(salt: str, value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(f"{salt}\0{text}".encode()).hexdigest()[:32]


def fingerprints(plan: Plan, salt: str) -> dict[str, dict[str, Any]]:
    """Per change (step|id): its action, whether it waits or is refused, and a digest of each planned property."""
    out: dict[str, dict[str, Any]] = {}
    for c in plan.changes:
        out[_key(c)] = {"step": c.step, "id": c.ref.id, "action": c.action.value, "waiting": bool(c.waiting),
                        "refused": bool(c.refused),
                        "properties": {p.path: _digest(salt, [p.before, p.after, p.requires_replace])
                                       for p in c.properties}}
    return out


def _key(c: Change) -> str:
    return f"{c.step}|{c.ref.id.lower()}"


def document(plan: Plan, plan_json: str, subscription: str, salt: str | None = None) -> dict[str, Any]:
    """The saved plan: the reviewed plan as JSON, and the fingerprints `provision --plan` compares."""
    salt = salt or secrets.token_hex(16)
    return {"kind": KIND, "schema": SCHEMA, "env": plan.env, "subscription": subscription, "salt": salt,
            "plan": json.loads(plan_json), "fingerprints": fingerprints(plan, salt)}


def load(text: str, where: str, env: str, subscription: str) -> dict[str, Any]:
    """Parse and check a saved plan for `env` in `subscription`; raises SavedPlanError naming the file."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(f"--plan {where}: not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("schema") != SCHEMA:
        raise SavedPlanError(f"--plan {where}: not a saved plan (write one with plan --out-plan)")
    if doc.get("env") != env:
        raise SavedPlanError(f"--plan {where}: a plan for {doc.get('env')!r}, not {env!r}")
    if str(doc.get("subscription") or "").lower() != subscription.lower():
        raise SavedPlanError(f"--plan {where}: a plan for subscription {doc.get('subscription')}, not {subscription}")
    if not isinstance(doc.get("fingerprints"), dict) or not isinstance(doc.get("salt"), str):
        raise SavedPlanError(f"--plan {where}: not a saved plan (no fingerprints)")
    return doc


def compare(saved: dict[str, Any], fresh: Plan) -> list[Moved]:
    """What differs between the reviewed plan and `fresh`: empty when applying `fresh` applies the review."""
    before: dict[str, dict[str, Any]] = saved["fingerprints"]
    now = fingerprints(fresh, saved["salt"])
    moved: list[Moved] = []
    for key in sorted(set(before) | set(now)):
        old, new = before.get(key), now.get(key)
        if old == new:
            continue
        entry = new or old or {}
        step, rid = str(entry.get("step")), str(entry.get("id"))
        if old is None:
            if new and new["action"] != Action.NOOP.value:
                moved.append(Moved(step, rid, f"not in the reviewed plan, now {new['action']}"))
            continue
        if new is None:
            if old["action"] != Action.NOOP.value:
                moved.append(Moved(step, rid, f"planned {old['action']}, now no longer planned"))
            continue
        if old["action"] != new["action"]:
            moved.append(Moved(step, rid, f"planned {old['action']}, now {new['action']}"))
        elif old["waiting"] != new["waiting"] or old["refused"] != new["refused"]:
            state = "waiting" if new["waiting"] else "refused" if new["refused"] else "ready"
            moved.append(Moved(step, rid, f"{old['action']} is now {state}"))
        else:
            paths = sorted(p for p in set(old["properties"]) | set(new["properties"])
                           if old["properties"].get(p) != new["properties"].get(p))
            moved.append(Moved(step, rid, "changed since the plan: " + ", ".join(paths)))
    return moved
