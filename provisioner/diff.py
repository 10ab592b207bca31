"""Pure, left-scoped property diff: compares only what we declare, after normalizing both sides."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from provisioner.model import SENSITIVE, UNKNOWN, Ignored, PropertyChange

Normalizer = Callable[[Any], Any]

# Fields ARM adds to every resource; never part of what we declare.
ENVELOPE = ("id", "name", "type", "systemData", "etag", "eTag", "properties.provisioningState")

_DURATION = re.compile(r"^p(\d+[dwmy])*(t(\d+(\.\d+)?[hms])+)?$", re.IGNORECASE)


def location(value: Any) -> Any:
    """`East US` and `eastus` are the same region (ARM normalizes on write)."""
    return value.replace(" ", "").lower() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    """Enum values and SKU names: ARM compares them case-insensitively and may change their casing."""
    return value.lower() if isinstance(value, str) else value


def as_str(value: Any) -> Any:
    """Autoscale capacities and Redis config values travel as strings but are written as numbers."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, (int, float)) else value


def _default_normalize(value: Any) -> Any:
    # ARM ids come back with provider/segment casing changed (`resourcegroups`, `microsoft.insights`),
    # and ISO-8601 durations are echoed upper-case (`Pt1m` -> `PT1M`): both compare case-insensitively.
    if isinstance(value, str) and (value.startswith("/subscriptions/") or _DURATION.match(value)):
        return value.lower()
    return value


@dataclass(frozen=True)
class Rules:
    """Per-step knowledge the differ needs; every entry should say where the behaviour comes from."""

    ignore: tuple[tuple[str, str], ...] = ()  # (path pattern, reason): never compared
    write_only: tuple[str, ...] = ()  # sent on create, never returned by GET: not compared once it exists
    sensitive: tuple[str, ...] = ()  # shown as (sensitive)
    replace_on: tuple[str, ...] = ()  # immutable: a change means delete + create
    normalizers: tuple[tuple[str, Normalizer], ...] = ()  # (path pattern, fn) applied to both sides
    sets: tuple[str, ...] = ()  # list paths whose order Azure does not keep
    exact: tuple[str, ...] = ("tags",)  # dict paths owned whole: extra keys are drift
    managed_keys: tuple[tuple[str, str], ...] = ()  # (key pattern, reason): keys Azure adds inside `exact` dicts
    case_insensitive_keys: tuple[str, ...] = ("tags",)  # dict paths whose keys ARM treats case-insensitively

    def merged(self, other: Rules) -> Rules:
        return Rules(**{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__})


def _match(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(path, p) for p in patterns)


@dataclass
class DiffResult:
    changes: list[PropertyChange] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes


class _Differ:
    def __init__(self, rules: Rules, exists: bool):
        self.rules = rules
        self.exists = exists
        self.result = DiffResult()

    def norm(self, path: str, value: Any) -> Any:
        for pattern, fn in self.rules.normalizers:
            if fnmatchcase(path, pattern):
                return fn(value)
        return _default_normalize(value)

    def ignored_reason(self, path: str) -> str | None:
        for pattern, reason in self.rules.ignore:
            if fnmatchcase(path, pattern):
                return reason
        if self.exists and _match(path, self.rules.write_only):
            return "write-only"
        return None

    def emit(self, path: str, before: Any, after: Any) -> None:
        sensitive = _match(path, self.rules.sensitive) or _match(path, self.rules.write_only)
        if sensitive:
            before = SENSITIVE if before is not None else None
            after = SENSITIVE if after is not None and after is not UNKNOWN else after
        self.result.changes.append(
            PropertyChange(path, before, after, sensitive, requires_replace=_match(path, self.rules.replace_on))
        )

    def count_unmanaged(self, path: str, value: Any, reason: str = "server-populated") -> None:
        """Everything Azure returns that we did not declare is counted, so filtering is visible."""
        if isinstance(value, dict) and value:
            for k, v in value.items():
                self.count_unmanaged(f"{path}.{k}" if path else k, v, reason)
        else:
            self.result.ignored.append(Ignored(path, reason))

    def walk(self, path: str, desired: Any, observed: Any) -> None:
        if desired is None:
            return
        reason = self.ignored_reason(path)
        if reason:
            self.result.ignored.append(Ignored(path, reason))
            return
        if desired is UNKNOWN:
            self.emit(path, observed, UNKNOWN)
            return
        if isinstance(desired, dict):
            self.walk_dict(path, desired, observed)
        elif isinstance(desired, list):
            # A list-level normalizer (e.g. "enabled entries only") applies to both sides before comparing.
            if not self.list_equal(path, self.norm(path, desired), self.norm(path, observed)):
                self.emit(path, observed, desired)
        elif self.norm(path, desired) != self.norm(path, observed):
            self.emit(path, observed, desired)

    def walk_dict(self, path: str, desired: dict, observed: Any) -> None:
        if not isinstance(observed, dict):
            if observed is None:
                observed = {}
            else:
                self.emit(path, observed, desired)
                return
        if path in self.rules.exact:
            self.walk_exact(path, desired, observed)
            return
        for key, want in desired.items():
            self.walk(f"{path}.{key}" if path else key, want, observed.get(key))
        for key, have in observed.items():
            if key not in desired:
                sub = f"{path}.{key}" if path else key
                self.count_unmanaged(sub, have, self.ignored_reason(sub) or "server-populated")

    def walk_exact(self, path: str, desired: dict, observed: dict) -> None:
        fold = path in self.rules.case_insensitive_keys
        keyed = {(k.lower() if fold else k): (k, v) for k, v in observed.items()}
        seen = set()
        for key, want in desired.items():
            lookup = key.lower() if fold else key
            seen.add(lookup)
            have = keyed.get(lookup, (key, None))[1]
            if want is not None and self.norm(f"{path}.{key}", want) != self.norm(f"{path}.{key}", have):
                self.emit(f"{path}.{key}", have, want)
        for lookup, (key, have) in keyed.items():
            if lookup in seen:
                continue
            managed = next((r for p, r in self.rules.managed_keys if fnmatchcase(key, p)), None)
            if managed:
                self.result.ignored.append(Ignored(f"{path}.{key}", managed))
            else:
                self.emit(f"{path}.{key}", have, None)

    def sub_equal(self, path: str, desired: Any, observed: Any) -> bool:
        probe = _Differ(self.rules, self.exists)
        probe.walk(path, desired, observed)
        return not probe.result.changes

    def list_equal(self, path: str, desired: list, observed: Any) -> bool:
        if not isinstance(observed, list) or len(observed) != len(desired):
            return False
        item_path = f"{path}[]"
        if path not in self.rules.sets:
            return all(self.sub_equal(item_path, d, o) for d, o in zip(desired, observed, strict=True))
        remaining = list(observed)
        for want in desired:
            hit = next((i for i, have in enumerate(remaining) if self.sub_equal(item_path, want, have)), None)
            if hit is None:
                return False
            remaining.pop(hit)
        return True


def diff(desired: dict, observed: dict | None, rules: Rules = Rules()) -> DiffResult:
    """Left-scoped diff of `desired` against `observed`; `observed=None` means the resource is absent."""
    rules = rules.merged(Rules(ignore=tuple((p, "server-populated") for p in ENVELOPE), exact=()))
    differ = _Differ(rules, exists=observed is not None)
    differ.walk("", desired, observed or {})
    return differ.result


def get_path(body: Any, path: str) -> Any:
    """Read a dotted wire path from a body (None where any segment is missing)."""
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body
