"""Mutation helpers: change one managed property out of band through the local cloud's REST API, as a person."""

from __future__ import annotations

import copy
import hashlib
import json
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from provisioner.engine.diff import covers
from provisioner.engine.step import Step

ALICE = "alice@fundrbolt.app"
HAND_TAG = ("HandMade", "by-alice")
HAND_SECRET = "rotated-by-hand"  # a secret value a person pastes in; reads carry only its hash
HAND_SECRET_SHA256 = hashlib.sha256(HAND_SECRET.encode()).hexdigest()
# Security-relevant properties get the weakening a person would make, not just any other value.
WEAKEN: dict[str, Any] = {
    "minTlsVersion": "1.0", "scmMinTlsVersion": "1.0", "ftpsState": "AllAllowed", "httpsOnly": False,
    "allowBlobPublicAccess": True, "enableNonSslPort": True, "supportsHttpsTrafficOnly": False,
    "publicNetworkAccess": "Enabled", "allowSharedKeyAccess": True,
}
# Enum values: another member of the same enum (a made-up value could be refused, or be only a case change).
ALTERNATIVE: dict[str, str] = {
    "Disabled": "Enabled", "Enabled": "Disabled", "TLS1_2": "TLS1_0", "1.2": "1.0", "Hot": "Cool",
    "standard": "premium", "Standard_LRS": "Standard_GRS", "StorageV2": "Storage", "SystemAssigned": "None",
    "Basic": "Standard", "Standard": "Free", "B1": "B2", "S1": "S2", "P1v3": "P2v3", "Allkeys-lru": "volatile-lru",
    "allkeys-lru": "volatile-lru", "PerGB2018": "Standalone", "CanNotDelete": "ReadOnly",
}


@dataclass
class Mutation:
    path: str  # the differ's path of the change we expect (a list path, or tags.<key>)
    value: Any  # what the person writes at `path` (None: the key is removed)
    label: str  # what was done, for the report
    dropped: Any = None  # for "drop a list element": the element taken out
    added: Any = None  # for "add a list element" / "change ... inside an element": the element written
    reported_at: str | None = None  # where the differ reports it (an absent ancestor), for model fields


def leaves(body: Any, path: str = "") -> list[tuple[str, Any]]:
    """(path, value) of every leaf of a desired body; lists and owned-whole dicts are handled by callers."""
    if isinstance(body, dict) and body:
        return [leaf for k, v in body.items() for leaf in leaves(v, f"{path}.{k}" if path else k)]
    return [(path, body)]


# ISO-8601 durations: another value the services accept (metric alert windows, autoscale cooldowns).
DURATIONS = {"PT1M": "PT5M", "PT5M": "PT15M", "PT15M": "PT30M", "PT30M": "PT1H", "PT1H": "PT6H", "PT6H": "PT12H",
             "PT12H": "P1D", "P1D": "PT1H", "PT10M": "PT20M", "PT20M": "PT10M"}


def _other(key: str, value: Any) -> Any:
    if key in WEAKEN and WEAKEN[key] != value:
        return WEAKEN[key]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.5
    if isinstance(value, str):
        if value in ALTERNATIVE:
            return ALTERNATIVE[value]
        if value.upper() in DURATIONS:
            return DURATIONS[value.upper()]
        if value.startswith("/subscriptions/"):
            return value + "-tampered"
        return value + "-tampered" if value else "tampered"
    return None


def excluded_by(step: Step, path: str) -> str | None:
    """Why a field is not changed by the corpus (it cannot be compared as a change in place), or None."""
    rules = step.rules
    if any(fnmatchcase(path, p) or path.startswith(p + ".") for p in rules.write_only):
        return "write-only"
    if any(fnmatchcase(path, p) for p, _ in rules.ignore):
        return "ignored by rule"
    if any(covers(p, path) for p in rules.replace_on):
        return "immutable: Azure refuses the change in place"
    if path in getattr(step, "grows_only", ()):
        return "grows only"
    if path.endswith("odata.type"):
        return "polymorphic discriminator: changing it changes the object's type, not a value"
    if path.split(".")[0] in ("id", "name", "type", "etag", "systemData", "location") or path.startswith("tags"):
        return "the envelope (tags are changed as an owned dict)"
    if path in rules.exact:
        return "owned whole: its keys are changed, removed and added as a dict"
    return None


def compared_by(step: Step, desired: dict[str, Any], path: str) -> str | None:
    """The path the differ reports a change of `path` at, when the step compares it; None when it does not.
    (The class is the step's; which fields are tried is not: tests/e2e/model_mutations.py.)"""
    from provisioner.engine.diff import rule_path
    from provisioner.engine.fields import declared_paths

    rules = step.rules
    absent = next((a for a in rules.absent if covers(a, path)), None)
    if absent:
        return absent
    if any(covers(p, path) for p, _ in rules.not_managed):
        return None
    declared = {rule_path(p) for p in declared_paths(desired)}
    if path in declared:
        return path
    for key in rules.exact:
        if path.startswith(key + "."):
            return path
    return None


def field_mutations(step: Step, desired: dict[str, Any], observed: dict[str, Any], fields: list[Any],
                    others: int) -> tuple[list[Mutation], list[Mutation], list[str]]:
    """One weaker value for each sampled model field: (compared ones, uncompared ones, skipped with why)."""
    from tests.e2e.model_mutations import weaker

    compared: list[Mutation] = []
    uncompared: list[Mutation] = []
    skipped: list[str] = []
    for field in fields:
        path = field.path
        why = excluded_by(step, path)
        if why:
            skipped.append(f"{path} ({why})")
            continue
        current = get_value(observed, path)
        if path.endswith("linuxFxVersion"):
            new: Any = "DOCKER|ghcr.io/mallory/api:latest"  # the weaker image is one from another registry
        elif path.endswith("valueSha256"):
            new = HAND_SECRET_SHA256
        else:
            new = weaker(field, current)
        if new is None or new == current:
            skipped.append(f"{path} (no weaker value for {field.kind})")
            continue
        at = compared_by(step, desired, path)
        if at and at != path and any(c.reported_at == at for c in compared):
            # Another field inside the same declared-absent one (a DNS server beside a DNS server): the same
            # rule reports both, so one of them is enough.
            skipped.append(f"{path} (inside {at}, which another field already exercises)")
            continue
        m = Mutation(path, new, f"set {new!r}", reported_at=at)
        (compared if at else uncompared).append(m)
    return compared, uncompared[:others] if others >= 0 else uncompared, skipped


def get_value(body: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def mutations(step: Step, desired: dict[str, Any]) -> tuple[list[Mutation], list[str]]:
    """Owned-whole dicts and declared lists of the step: change, remove, add keys and elements (their shapes
    come from the declared body); scalar fields come from the SDK model (field_mutations)."""
    rules = step.rules
    out: list[Mutation] = []
    skipped: list[str] = []

    def excluded(path: str) -> str | None:
        if any(fnmatchcase(path, p) or path.startswith(p + ".") for p in rules.write_only):
            return "write-only"
        if any(fnmatchcase(path, p) for p, _ in rules.ignore):
            return "ignored by rule"
        if any(covers(p, path) for p, _ in rules.not_managed):
            return "not managed: someone else owns it (a change there is not drift)"
        if any(fnmatchcase(path, p) for p in rules.replace_on):
            return "immutable: Azure refuses the change in place"
        if path in getattr(step, "grows_only", ()):
            # A larger value is not drift (auto-grow), a smaller one is refused by the service: tested in
            # tests/unit/test_settling.py and tests/localcloud/test_more_types.py instead.
            return "grows only"
        if path.endswith("odata.type"):
            return "polymorphic discriminator: changing it changes the object's type, not a value"
        return None

    for key in dict.fromkeys(rules.exact):  # owned whole (merged rules repeat "tags"): change, remove, add a key (tags, app settings)
        owned = desired.get(key) if "." not in key else None
        if not isinstance(owned, dict):
            continue
        if owned:
            first = sorted(owned)[0]
            out.append(Mutation(f"{key}.{first}", f"{owned[first]}-tampered", f"change {key}.{first}"))
            last = sorted(owned)[-1]
            out.append(Mutation(f"{key}.{last}", None, f"remove {key}.{last}"))
        out.append(Mutation(f"{key}.{HAND_TAG[0]}", HAND_TAG[1], f"add a hand-made {key} key"))
    for path, value in leaves({k: v for k, v in desired.items() if k not in rules.exact}):
        if not isinstance(value, list):
            continue  # scalar fields: from the SDK model (field_mutations), not from what the step declares
        why = excluded(path)
        if why:
            skipped.append(f"{path} ({why})")
            continue
        if isinstance(value, list):
            if not value:  # nothing to drop; an invented element would not be a valid object of its type
                skipped.append(f"{path} (empty list)")
                continue
            out.append(Mutation(path, value[:-1], "drop a list element", dropped=value[-1]))
            out += list_mutations(path, value)
    return out, skipped


HAND_ADDRESS = "203.0.113.77"  # TEST-NET-3: an address a person adds to an allow list


def _hand_element(item: Any) -> Any:
    """A new element shaped like `item`, as a person would add one: names and addresses changed."""
    if isinstance(item, str):
        return HAND_ADDRESS if item.count(".") == 3 and item.replace(".", "").isdigit() else f"{item}Hand"
    if not isinstance(item, dict):
        return None
    out = copy.deepcopy(item)
    for key, value in item.items():
        if key == "name" and isinstance(value, str):
            out[key] = value + "hand"  # letters only: every name rule accepts them
        elif isinstance(value, str) and value.count(".") == 3 and value.replace(".", "").isdigit():
            out[key] = HAND_ADDRESS
        elif isinstance(value, dict):
            out[key] = _hand_element(value)
    return out


def _first_leaf(item: dict[str, Any], path: str = "") -> tuple[str, Any] | None:
    """The first scalar leaf inside a list element that is not its natural key (`name`)."""
    for key, value in item.items():
        sub = f"{path}.{key}" if path else key
        if isinstance(value, dict):
            found = _first_leaf(value, sub)
            if found:
                return found
        elif key != "name" and isinstance(value, (str, int, float, bool)) and not isinstance(value, list):
            return sub, value
    return None


def list_mutations(path: str, value: list[Any]) -> list[Mutation]:
    """A list gains an element (a rule, an address, a receiver), and a key inside an element changes."""
    out: list[Mutation] = []
    added = _hand_element(value[-1])
    if added is not None and added not in value:
        out.append(Mutation(path, [*value, added], "add a list element", added=added))
    if isinstance(value[0], dict) and (leaf := _first_leaf(value[0])):
        inner, old = leaf
        ip = isinstance(old, str) and old.count(".") == 3 and old.replace(".", "").isdigit()
        new = HAND_ADDRESS if ip else _other(inner.rsplit(".", 1)[-1], old)
        if new is not None:
            changed = [set_path(value[0], inner, new), *value[1:]]
            out.append(Mutation(path, changed, f"change {inner} inside an element", added=changed[0]))
    return out


def set_path(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    if value is None:
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value
    return out


def minimal(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A PATCH body carrying only the top-level member that holds `path` (tags replace whole in ARM)."""
    if path.split(".")[0] == "tags":
        return {"tags": body.get("tags") or {}}
    out: dict[str, Any] = {}
    node: dict[str, Any] = out
    src: Any = body
    parts = path.split(".")
    for part in parts[:-1]:
        src = src.get(part) if isinstance(src, dict) else None
        node = node.setdefault(part, {})
    if isinstance(src, dict) and parts[-1] in src:
        node[parts[-1]] = src[parts[-1]]
    else:
        node[parts[-1]] = None
    return out


class Rest:
    """Raw HTTP to the local cloud as a person (the bearer token's subject is the caller)."""

    def __init__(self, cloud: Any, caller: str = ALICE):
        self.cloud = cloud
        self.caller = caller
        self.tls = ssl.create_default_context(cafile=str(cloud.ca_file)) if getattr(cloud, "ca_file", None) else None

    def call(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {self.caller}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.tls if url.startswith("https") else None) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def settle(self, url: str) -> None:
        """Wait for an accepted write to finish (the portal shows 'Updating...' until then)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, body = self.call("GET", url)
            state = str(((body or {}).get("properties") or {}).get("provisioningState") or "succeeded").lower()
            # Communication Services' steady state is Running (provisioner/engine/step.py Step.settled).
            if state in ("succeeded", "failed", "canceled", "running"):
                return
            time.sleep(0.02)


@dataclass
class ReadCall:
    """How a step reads its resource, as the local cloud saw it: method, base URL, path, api-version."""

    method: str
    base: str
    path: str
    api_version: str | None
    dataplane: bool

    @property
    def url(self) -> str:
        return self.base + self.path + (f"?api-version={self.api_version}" if self.api_version else "")

    def at(self, path: str) -> str:
        return self.base + path + (f"?api-version={self.api_version}" if self.api_version else "")


def read_call(cloud: Any, step: Step, clients: Any) -> ReadCall:
    """Run the step's read once and take its last request from the cloud's request log."""
    before = len(cloud.requests())
    step.read(clients)
    mine = [r for r in cloud.requests()[before:] if not r.get("write")]
    last = mine[-1]
    base = cloud.tls_url if last.get("kind") == "dataplane" else cloud.url
    return ReadCall(last["method"], base, last["path"], last.get("api_version"), last.get("kind") == "dataplane")


def apply_mutation(rest: Rest, how: ReadCall, mutation: Mutation) -> tuple[int, Any]:
    """Write one change as a person would, by resource kind; returns the write's status and body."""
    if how.method == "POST" and how.path.lower().endswith("/list"):
        # App settings (and slot settings): read with POST .../list, written whole with PUT on the parent.
        target = how.path[: -len("/list")]
        _, current = rest.call("POST", how.url)
        changed = set_path(current or {}, mutation.path, mutation.value)
        return rest.call("PUT", how.at(target), {"properties": changed.get("properties") or {}})
    if how.dataplane:
        return _secret_write(rest, how, mutation)
    if mutation.path == "properties.valueSha256" and "/secrets/" in how.path.lower():
        return _secret_value_by_hand(rest, how)
    _, current = rest.call("GET", how.url)
    if isinstance((current or {}).get("value"), list):
        return _collection_write(rest, how, current["value"], mutation)
    changed = set_path(current or {}, mutation.path, mutation.value)
    status, body = rest.call("PATCH", how.url, minimal(mutation.path, changed))
    if status in (400, 404, 405) and (body or {}).get("error", {}).get("code") in (
            "MethodNotAllowed", "UnsupportedOperation", "PatchNotSupported", "NotSupported"):
        status, body = rest.call("PUT", how.url, changed)
    if status < 300:
        rest.settle(how.url)
    return status, body


def _collection_write(rest: Rest, how: ReadCall, items: list[dict[str, Any]], mutation: Mutation) -> tuple[int, Any]:
    """A step that owns a whole collection (firewall rules): a person deletes, adds or edits one element."""
    if isinstance(mutation.added, dict) and mutation.added.get("name"):
        name = str(mutation.added["name"]).rsplit("/", 1)[-1]
        return rest.call("PUT", how.at(f"{how.path}/{name}"), {"properties": mutation.added.get("properties") or {}})
    if mutation.dropped is None:
        return 400, {"error": {"code": "NoCollectionMutation", "message": f"no collection mutation for {mutation.path}"}}
    name = mutation.dropped.get("name") if isinstance(mutation.dropped, dict) else None
    victim = next((i for i in items if name and str(i.get("name", "")).rsplit("/", 1)[-1] == name), items[-1])
    return rest.call("DELETE", how.at(victim["id"]))


def _secret_value_by_hand(rest: Rest, how: ReadCall) -> tuple[int, Any]:
    """A person sets a new value (a new version) through ARM, keeping the tags they see; the fingerprint tag
    the tool writes is ours alone, and a new version set by hand (portal, CLI) does not carry it."""
    from steps._secret_values import FINGERPRINT_TAG

    _, current = rest.call("GET", how.url)
    tags = {k: v for k, v in ((current or {}).get("tags") or {}).items() if k != FINGERPRINT_TAG}
    return rest.call("PUT", how.url, {"tags": tags, "properties": {"value": HAND_SECRET}})


def _secret_write(rest: Rest, how: ReadCall, mutation: Mutation) -> tuple[int, Any]:
    """Key Vault secrets live on the data plane: a person sets a new version (value, tags, enabled)."""
    parts = urlsplit(how.url)
    segs = parts.path.rstrip("/").split("/")
    i = segs.index("secrets")
    base = f"{how.base}{'/'.join(segs[: i + 2])}"
    _, current = rest.call("GET", f"{base}?api-version={how.api_version}")
    current = current or {}
    body = {"value": current.get("value", ""), "tags": dict(current.get("tags") or {}),
            "attributes": {"enabled": (current.get("attributes") or {}).get("enabled", True)}}
    if current.get("contentType"):
        body["contentType"] = current["contentType"]
    if mutation.path.startswith("tags."):
        key = mutation.path.split(".", 1)[1]
        if mutation.value is None:
            body["tags"].pop(key, None)
        else:
            body["tags"][key] = mutation.value
    elif mutation.path == "properties.attributes.enabled":
        body["attributes"]["enabled"] = mutation.value
    elif mutation.path == "properties.valueSha256":
        body["value"] = HAND_SECRET
    elif mutation.path == "properties.contentType":
        body["contentType"] = mutation.value
    return rest.call("PUT", f"{base}?api-version={how.api_version}", body)
