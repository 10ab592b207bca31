"""Pure, left-scoped property diff: compares only what we declare, after normalizing both sides."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from provisioner.core.model import (
    AZURE_MANAGED,
    NOT_MANAGED,
    READ_ONLY,
    SENSITIVE,
    UNDECLARED,
    UNKNOWN,
    WRITE_ONLY,
    Ignored,
    PropertyChange,
)
from provisioner.core.redact import reference

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
    """Per-step knowledge the differ needs; every entry should say where the behaviour comes from.

    Paths are ARM wire paths; a list element is `[]` in a pattern (`properties.rules[].name`) whatever its
    key or index in a report (`properties.rules[cpu].name`). A not-managed or read-only pattern covers the
    subtree under it."""

    ignore: tuple[tuple[str, str], ...] = ()  # (path pattern, reason): never compared (write-only echoes)
    write_only: tuple[str, ...] = ()  # sent on create, never returned by GET: not compared once it exists
    sensitive: tuple[str, ...] = ()  # shown as (sensitive)
    plain: tuple[str, ...] = ()  # shown in clear although `sensitive` matches (settings an env file declares)
    replace_on: tuple[str, ...] = ()  # immutable: a change means delete + create
    normalizers: tuple[tuple[str, Normalizer], ...] = ()  # (path pattern, fn) applied to both sides
    sets: tuple[str, ...] = ()  # list paths whose order Azure does not keep
    exact: tuple[str, ...] = ("tags",)  # dict paths owned whole: extra keys are drift
    managed_keys: tuple[tuple[str, str], ...] = ()  # (key pattern, reason): keys Azure adds inside `exact` dicts
    case_insensitive_keys: tuple[str, ...] = ("tags",)  # dict paths whose keys ARM treats case-insensitively
    # (path pattern, reason): writable fields someone else owns ("owned by autoscale"). Never compared, and
    # an update carries the observed value (carry_owned), so a repair never undoes the owner's work.
    not_managed: tuple[tuple[str, str], ...] = ()
    read_only: tuple[str, ...] = ()  # server-populated paths, derived from the SDK model (provisioner.engine.fields)
    # Writable fields declared absent: any value there is drift (a log destination added by hand). The step's
    # PUT body leaves them out, which removes them.
    absent: tuple[str, ...] = ()

    def merged(self, other: Rules) -> Rules:
        return Rules(**{f: getattr(self, f) + getattr(other, f) for f in self.__dataclass_fields__})


# One rule, every step: tags Azure and the portal add on their own. `hidden-link:*` links a web test, alert or
# site to Application Insights (arm-examples webtests, metric alerts); `$type` is the serializer hint the
# autoscale API leaves in its tag dictionary (azurerm issue #1661). Never drift, and kept on update.
AZURE_MANAGED_TAGS: tuple[tuple[str, str], ...] = (
    ("hidden-link:*", "azure-managed tag"),
    ("$type", "azure-managed tag"),
)
# Every key a list element may be known by, in order of preference (the element's own name).
NATURAL_KEYS = ("name",)

_INDEX = re.compile(r"\[[^\]]*\]")


def rule_path(path: str) -> str:
    """`properties.profiles[cpu].rules[0].x` -> `properties.profiles[].rules[].x`: what patterns match."""
    return _INDEX.sub("[]", path)


def matches(path: str, pattern: str) -> bool:
    """fnmatch on wire paths, where `[]` means "any list element", never a character class (in fnmatch,
    `profiles[].rules[]` would otherwise read `[].rules[]` as one set of characters)."""
    return fnmatchcase(rule_path(path), pattern.replace("[]", "[[]]"))


def _match(path: str, patterns: Iterable[str]) -> bool:
    return any(matches(path, p) for p in patterns)


def covers(pattern: str, path: str) -> bool:
    """A pattern names a field and everything under it."""
    path = rule_path(path)
    return matches(path, pattern) or matches(path, pattern + ".*") or matches(path, pattern + "[]*")


_WILD = re.compile(r"[*?\[]")


class PathPatterns:
    """Patterns indexed for `covers`: the literal ones (nearly all: an SDK model's read-only paths, hundreds per
    type) are found through the path's own prefixes, and only wildcard patterns go through fnmatch. Checking
    each path against every pattern made a plan of production spend seconds in fnmatch."""

    def __init__(self, patterns: Iterable[tuple[str, str]]):
        self.literal: dict[str, tuple[int, str]] = {}  # pattern -> (order, reason)
        self.wild: list[tuple[int, str, str]] = []
        self.parents: set[str] = set()  # proper prefixes of literal patterns, ending before a "."
        for order, (pattern, reason) in enumerate(patterns):
            if _WILD.search(pattern.replace("[]", "")):
                self.wild.append((order, pattern, reason))
                continue
            self.literal.setdefault(pattern, (order, reason))
            self.parents.update(pattern[:i] for i, ch in enumerate(pattern) if ch == ".")

    def covering(self, path: str) -> list[tuple[str, str]]:
        """(pattern, reason) of every pattern that covers `path`, in the order they were given."""
        path = rule_path(path)
        found = [(self.literal[prefix], prefix) for prefix in _prefixes(path) if prefix in self.literal]
        hits = [(order, pattern, reason) for (order, reason), pattern in found]
        hits += [(o, p, r) for o, p, r in self.wild if covers(p, path)]
        return [(p, r) for _, p, r in sorted(hits)]

    def covers(self, path: str) -> bool:
        path = rule_path(path)
        return any(prefix in self.literal for prefix in _prefixes(path)) or any(covers(p, path) for _, p, _ in self.wild)

    def has_below(self, path: str) -> bool:
        """Some pattern names a field under `path` (its subtree is split between classes)."""
        path = rule_path(path)
        return path in self.parents or any(p.startswith(path + ".") for _, p, _ in self.wild)


@lru_cache(maxsize=512)  # one per step's rule set: a plan diffs each step two or three times
def _indexed(patterns: tuple[tuple[str, str], ...]) -> PathPatterns:
    return PathPatterns(patterns)


def _prefixes(path: str) -> list[str]:
    """`a.b[].c` -> `a`, `a.b`, `a.b[]`, `a.b[].c`: what a literal pattern covering it can be."""
    cuts = [i for i, ch in enumerate(path) if ch == "." or (ch == "[" and path.startswith("[]", i))]
    return [path[:i] for i in cuts if i] + [path]


def _is_tags(path: str) -> bool:
    return path == "tags" or path.endswith(".tags")


def azure_managed_tag(key: str) -> str | None:
    return next((reason for p, reason in AZURE_MANAGED_TAGS if fnmatchcase(key, p)), None)


@dataclass
class DiffResult:
    changes: list[PropertyChange] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes


def _label(element: Any, index: int) -> str:
    """How a set element is named in a report: its only scalar value ({"value": "1.2.3.4"} -> 1.2.3.4), else
    its position."""
    if isinstance(element, dict) and len(element) == 1:
        (only,) = element.values()
        if isinstance(only, (str, int, float)) and not isinstance(only, bool):
            return str(only)
    return str(index)


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


class _Differ:
    def __init__(self, rules: Rules, exists: bool):
        self.rules = rules
        self.exists = exists
        self.result = DiffResult()
        # Declared paths the model calls read-only (storage networkAcls: written through create parameters).
        # What we declare is compared, and a key beside it is not "server-populated" either.
        self.declared_read_only: list[str] = []
        self.ignore = _indexed(rules.ignore)
        self.not_managed = _indexed(rules.not_managed)
        self.read_only = _indexed(tuple((p, "server-populated") for p in rules.read_only))
        self.absent = _indexed(tuple((p, "absent") for p in rules.absent))

    def norm(self, path: str, value: Any) -> Any:
        path = rule_path(path)
        for pattern, fn in self.rules.normalizers:
            if matches(path, pattern):
                return fn(value)
        return _default_normalize(value)

    def classify(self, path: str) -> tuple[str, str] | None:
        """(kind, reason) for a field that is not compared, or None when it must be."""
        for _, reason in self.ignore.covering(path)[:1]:
            return (WRITE_ONLY if reason.startswith("write-only") else NOT_MANAGED), reason
        for _, reason in self.not_managed.covering(path)[:1]:
            return NOT_MANAGED, reason
        if self.exists and _match(path, self.rules.write_only):
            return WRITE_ONLY, "write-only"
        if any(not any(covers(p, d) for d in self.declared_read_only) for p, _ in self.read_only.covering(path)):
            return READ_ONLY, "server-populated"
        return None

    def emit(self, path: str, before: Any, after: Any) -> None:
        sensitive = (_match(path, self.rules.sensitive) and not _match(path, self.rules.plain)) \
            or _match(path, self.rules.write_only)
        if sensitive:
            # A Key Vault reference names where a secret is, it is not one: shown as it is.
            before = SENSITIVE if before is not None and not reference(before) else before
            after = SENSITIVE if after is not None and after is not UNKNOWN and not reference(after) else after
        self.result.changes.append(
            PropertyChange(path, before, after, sensitive, requires_replace=_match(path, self.rules.replace_on))
        )

    def account(self, path: str, value: Any) -> None:
        """A field Azure returned that we did not declare: counted by class, or drift inside an owned element."""
        if self.absent.covers(path):
            # declared absent: compared, and present is drift (after the path's normalizer: an identity of
            # type "None" is no identity)
            if not _empty(self.norm(path, value)):
                self.emit(path, value, None)
            return
        found = self.classify(path)
        if found:
            self._count(path, value, *found)
            return
        in_element = "[" in path
        split = any(index.has_below(path) for index in (self.read_only, self.not_managed, self.ignore))
        if isinstance(value, dict) and value and (split or not in_element):
            for k, v in value.items():
                self.account(f"{path}.{k}", v)
        elif in_element and not _empty(value) and value is not False:
            # A declared list is owned element by element: a key added inside one (a `delete` action in a
            # lifecycle rule) is drift, and the PUT of the declared list removes it. null, empty and false are
            # how Azure echoes the defaults of keys nobody set (skipMetricValidation, dimensions): counted.
            self.emit(path, value, None)
        else:
            self.result.ignored.append(Ignored(path, "neither declared nor listed as not managed", UNDECLARED))

    def _count(self, path: str, value: Any, kind: str, reason: str) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                self._count(f"{path}.{k}" if path else k, v, kind, reason)
        else:
            self.result.ignored.append(Ignored(path, reason, kind))

    def walk(self, path: str, desired: Any, observed: Any) -> None:
        if desired is None:
            return
        found = self.classify(path)
        if found and found[0] != READ_ONLY:
            self.result.ignored.append(Ignored(path, found[1], found[0]))
            return
        if found:  # a declared field is compared even where the model says read-only
            self.declared_read_only.append(path)
        if desired is UNKNOWN:
            self.emit(path, observed, UNKNOWN)
            return
        if isinstance(desired, dict):
            self.walk_dict(path, desired, observed)
        elif isinstance(desired, list):
            # A list-level normalizer (e.g. "enabled entries only") applies to both sides before comparing.
            self.walk_list(path, self.norm(path, desired), self.norm(path, observed))
        elif self.norm(path, desired) != self.norm(path, observed):
            self.emit(path, observed, desired)

    def walk_dict(self, path: str, desired: dict, observed: Any) -> None:
        if not isinstance(observed, dict):
            if observed is None:
                observed = {}
            else:
                self.emit(path, observed, desired)
                return
        if rule_path(path) in self.rules.exact:
            self.walk_exact(path, desired, observed)
            return
        for key, want in desired.items():
            self.walk(f"{path}.{key}" if path else key, want, observed.get(key))
        for key, have in observed.items():
            if key not in desired:
                self.account(f"{path}.{key}" if path else key, have)

    def walk_exact(self, path: str, desired: dict, observed: dict) -> None:
        fold = rule_path(path) in self.rules.case_insensitive_keys
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
            azure = azure_managed_tag(key) if _is_tags(rule_path(path)) else None
            managed = next((r for p, r in self.rules.managed_keys if fnmatchcase(key, p)), None)
            if azure:
                self.result.ignored.append(Ignored(f"{path}.{key}", azure, AZURE_MANAGED))
            elif managed:
                self.result.ignored.append(Ignored(f"{path}.{key}", managed, NOT_MANAGED))
            else:
                self.emit(f"{path}.{key}", have, None)

    def probe(self, path: str, desired: Any, observed: Any) -> _Differ:
        probe = _Differ(self.rules, self.exists)
        probe.declared_read_only = self.declared_read_only
        probe.walk(path, desired, observed)
        return probe

    def walk_list(self, path: str, desired: list, observed: Any) -> None:
        """Element by element: matched by natural key where every element has one, else by position (or
        by value for sets); elements added or removed are shown whole."""
        if not isinstance(observed, list):
            observed = self.norm(path, observed)  # e.g. absent_is([]): ARM returns null for an empty list
        if not isinstance(observed, list):
            self.emit(path, observed, desired)
            return
        key = self.natural_key(path, desired, observed)
        if key is not None:
            self.walk_keyed(path, key, desired, observed)
        elif not all(isinstance(d, dict) for d in desired + observed) or not desired + observed:
            if not self.list_equal(path, desired, observed):
                self.emit(path, observed, desired)
        elif rule_path(path) in self.rules.sets:
            self.walk_set(path, desired, observed)
        else:
            for i in range(max(len(desired), len(observed))):
                self.walk_element(f"{path}[{i}]", desired[i] if i < len(desired) else None,
                                  observed[i] if i < len(observed) else None)

    def natural_key(self, path: str, desired: list, observed: list) -> str | None:
        items = desired + observed
        for key in NATURAL_KEYS:
            if items and all(isinstance(e, dict) and isinstance(e.get(key), str) for e in items):
                names = [self.norm(f"{path}[].{key}", e[key]) for e in desired]
                seen = [self.norm(f"{path}[].{key}", e[key]) for e in observed]
                if len(set(names)) == len(names) and len(set(seen)) == len(seen):
                    return key
        return None

    def walk_keyed(self, path: str, key: str, desired: list, observed: list) -> None:
        have = {self.norm(f"{path}[].{key}", e[key]): e for e in observed}
        wanted = set()
        for want in desired:
            name = self.norm(f"{path}[].{key}", want[key])
            wanted.add(name)
            self.walk_element(f"{path}[{name}]", want, have.get(name))
        for name, extra in have.items():
            if name not in wanted:
                self.walk_element(f"{path}[{name}]", None, extra)

    def walk_set(self, path: str, desired: list, observed: list) -> None:
        remaining = list(enumerate(observed))
        unmatched = []
        for i, want in enumerate(desired):
            hit = next((n for n, (_, have) in enumerate(remaining)
                        if not self.probe(f"{path}[{i}]", want, have).result.changes), None)
            if hit is None:
                unmatched.append((i, want))
            else:
                _, have = remaining.pop(hit)
                self.result.ignored += self.probe(f"{path}[{i}]", want, have).result.ignored
        for (i, want), (_, have) in zip(unmatched, remaining, strict=False):
            self.walk_element(f"{path}[{_label(want, i)}]", want, have)  # pair leftovers: shows the changed keys
        for i, want in unmatched[len(remaining):]:
            self.walk_element(f"{path}[{_label(want, i)}]", want, None)
        for j, have in remaining[len(unmatched):]:
            self.walk_element(f"{path}[{_label(have, j)}]", None, have)

    def walk_element(self, path: str, desired: Any, observed: Any) -> None:
        if desired is None:
            self.emit(path, observed, None)  # an element no one declared: removed by the PUT of the list
        elif observed is None:
            self.emit(path, None, desired)
        else:
            self.walk(path, desired, observed)

    def list_equal(self, path: str, desired: list, observed: list) -> bool:
        if len(observed) != len(desired):
            return False
        item_path = f"{path}[]"
        if rule_path(path) not in self.rules.sets:
            return all(not self.probe(item_path, d, o).result.changes for d, o in zip(desired, observed, strict=True))
        remaining = list(observed)
        for want in desired:
            hit = next((i for i, have in enumerate(remaining) if not self.probe(item_path, want, have).result.changes), None)
            if hit is None:
                return False
            remaining.pop(hit)
        return True


def diff(desired: dict, observed: dict | None, rules: Rules = Rules()) -> DiffResult:
    """Left-scoped diff of `desired` against `observed`; `observed=None` means the resource is absent."""
    rules = rules.merged(Rules(read_only=ENVELOPE, exact=(), case_insensitive_keys=()))
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
