"""Field accounting: which wire paths of a resource type are read-only or writable, from its SDK model's metadata.

Pure: it reads the class attributes msrest-generated models carry (`_attribute_map` gives each attribute's
wire key and type, `_validation` marks `readonly` ones, `_subtype_map` names polymorphic subtypes) and never
imports azure.* itself; steps hand it their model class. The generator writes those from the REST spec's
`readOnly: true`, so the read-only set is the spec's, not a hand list.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from provisioner.engine.diff import ENVELOPE, PathPatterns, Rules, matches, rule_path

_MAX_DEPTH = 12  # models that contain themselves (error details) stop here


@dataclass(frozen=True)
class ModelFields:
    read_only: frozenset[str]  # wire path patterns Azure fills in (a subtree when the field is an object)
    writable: frozenset[str]  # writable leaf paths (lists as `x[]`, map values as `x.*`)


@dataclass(frozen=True)
class SpecModel:
    """A type whose SDK has no model (a generic by-id call): its fields as the REST spec gives them, with the
    source named. Same shape as what model_fields derives from an SDK class."""

    source: str  # where the field list comes from (spec path or generated type listing)
    read_only: tuple[str, ...]
    writable: tuple[str, ...]


def _is_model(found: Any) -> bool:
    return isinstance(found, type) and (hasattr(found, "_attribute_map") or bool(_rest_fields(found)))


@cache  # the same nested types recur across a model tree: read each class once
def _model(module: Any, name: str) -> Any:
    found = getattr(module, name, None)
    if found is None and "." not in name:  # TypeSpec models name their siblings `_models.X`
        found = getattr(sys.modules.get(module.__name__.rsplit(".", 1)[0]), name, None)
    return found if _is_model(found) else None


@cache
def _subtypes(cls: Any) -> list[Any]:
    module = sys.modules[cls.__module__]
    names = [n for mapping in (getattr(cls, "_subtype_map", None) or {}).values() for n in mapping.values()]
    found = [m for m in (_model(module, n) for n in names) if m is not None]
    return found + [m for m in (getattr(cls, "__mapping__", None) or {}).values() if _is_model(m)]


@cache
def _rest_fields(cls: Any) -> dict[str, Any]:
    """TypeSpec-generated models (azure.mgmt.storage 24+, web 9+ ...): `rest_field` descriptors on the class."""
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if type(value).__name__ == "_RestField":
                out[attr] = (value, (getattr(klass, "__annotations__", None) or {}).get(attr))
    return out


_NAMED = re.compile(r"_models\.(\w+)")


@cache
def _attributes(cls: Any) -> list[tuple[str, bool, str]]:
    """(wire key, read-only, msrest-style type `[X]`, `{X}` or `X`) for either generator's models."""
    if hasattr(cls, "_attribute_map"):
        validation = getattr(cls, "_validation", None) or {}
        return [(spec.get("key") or "", bool((validation.get(attr) or {}).get("readonly")), spec.get("type") or "")
                for attr, spec in (cls._attribute_map or {}).items()]
    out = []
    for attr, (field, annotation) in _rest_fields(cls).items():
        text = str(annotation)
        named = _NAMED.search(text)
        inner = named.group(1) if named else "object"
        head = text[:named.start()] if named else text
        kind = f"[{inner}]" if "list[" in head or "List[" in head else f"{{{inner}}}" if "dict[str" in head else inner
        key = field._rest_name_input or attr
        out.append((key.replace(".", "\\."), field._visibility == ["read"], kind))
    return out


def _inner(kind: str, path: str = "") -> tuple[str, str]:
    """(element type name, path of its fields) for `[X]` lists, `{X}` maps and plain `X`."""
    if kind.startswith("[") and kind.endswith("]"):
        return kind[1:-1], f"{path}[]"
    if kind.startswith("{") and kind.endswith("}"):
        return kind[1:-1], f"{path}.*"
    return kind, path


def _walk(cls: Any, prefix: str, depth: int, ro: set[str], rw: set[str]) -> None:
    module = sys.modules[cls.__module__]
    for klass in [cls, *_subtypes(cls)]:
        for key, read_only, kind in _attributes(klass):
            if not key:  # additional_properties: whatever else the service sends
                continue
            path = f"{prefix}.{key.replace(chr(92) + '.', '.')}" if prefix else key.replace(chr(92) + ".", ".")
            if read_only:
                ro.add(path)
                nested = _model(module, _inner(kind)[0])
                if nested is not None and depth < _MAX_DEPTH:
                    inner_ro: set[str] = set()
                    _walk(nested, _inner(kind, path)[1], depth + 1, inner_ro, set())
                    ro |= inner_ro
                continue
            inner, sub = _inner(kind, path)
            nested = _model(module, inner)
            if nested is not None and depth < _MAX_DEPTH:
                before = len(rw)
                _walk(nested, sub, depth + 1, ro, rw)
                if len(rw) == before and not any(p.startswith(sub) for p in ro):
                    rw.add(path)  # an object type with no attributes (free-form): a leaf
            else:
                rw.add(path)


def resolved(model: Any) -> Any:
    """The model class itself: steps name theirs lazily (steps/_fields.py SdkModel has `resolve()`), so loading
    the steps never imports the SDK's model modules."""
    resolve = getattr(model, "resolve", None)
    return resolve() if callable(resolve) else model


@cache
def model_fields(model: Any, at: str = "") -> ModelFields:
    """Read-only and writable paths of an SDK model class, rooted at `at` (e.g. `rules[]` for a list body)."""
    model = resolved(model)
    if isinstance(model, SpecModel):
        return ModelFields(frozenset(f"{at}{p}" for p in model.read_only), frozenset(f"{at}{p}" for p in model.writable))
    ro: set[str] = set()
    rw: set[str] = set()
    if model is not None:
        _walk(model, at, 0, ro, rw)
    return ModelFields(frozenset(ro), frozenset(rw))


def with_model(rules: Rules, model: Any, at: str = "") -> Rules:
    """A step's rules plus the read-only paths its model declares."""
    if model is None:
        return rules
    return rules.merged(_model_rules(model, at))


@cache
def _model_rules(model: Any, at: str) -> Rules:
    """Built once per model: `Step.rules` asks for it on every access (thousands of times in one plan)."""
    return Rules(read_only=tuple(sorted(model_fields(model, at).read_only)), exact=(), case_insensitive_keys=())


def declared_paths(body: Any, path: str = "") -> set[str]:
    """Every wire path a desired body declares (lists as `x[]`), including the objects on the way."""
    out: set[str] = {path} if path else set()
    if isinstance(body, dict):
        for key, value in body.items():
            if value is not None:
                out |= declared_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(body, list):
        out.add(f"{path}[]")  # a declared list, even empty, owns its elements
        for item in body:
            out |= declared_paths(item, f"{path}[]")
    return out


def unaccounted(model: Any, at: str, rules: Rules, bodies: Iterable[dict]) -> list[str]:
    """Writable fields of `model` that no body declares and no rule names as not managed: each must be
    declared (compared) or listed in the step's `Rules.not_managed` with a reason."""
    declared: set[str] = set()
    for body in bodies:
        declared |= {rule_path(p) for p in declared_paths(body)}
    owned_whole = {p for p in declared if p.endswith("[]")} | set(rules.exact) | set(rules.sets)
    # Declared absent (compared: a value there is drift) covers the subtree like a declared list does.
    named = [p for p, _ in rules.not_managed + rules.ignore] + list(rules.write_only) + list(ENVELOPE) + list(rules.absent)
    declared |= set(rules.absent)
    index = _index(named)
    missing = []
    for path in sorted(model_fields(model, at).writable):
        if path in declared or index.covers(path) or ("*" in path and any(matches(d, path) for d in declared)):
            continue
        if any(path.startswith(p + ".") or path.startswith(p + "[]") for p in owned_whole | declared_leaf_maps(declared, path)):
            continue  # inside a list we declare (owned element by element) or a dict owned whole
        missing.append(path)
    return missing


def _index(patterns: Iterable[str]) -> PathPatterns:
    return PathPatterns((p, "") for p in patterns)


def declared_leaf_maps(declared: set[str], path: str) -> set[str]:
    """A map field (`tags`, `x.*`) counts as declared when any of its keys is."""
    base = path[:-2] if path.endswith(".*") else path
    return {base} if any(p.startswith(base + ".") for p in declared) and path.endswith(".*") else set()


@dataclass(frozen=True)
class Accounting:
    """One step type across the instances given: what is compared, read-only, not managed, missing."""

    owner: str  # module.Class, for messages
    compared: frozenset[str]
    read_only: frozenset[str]
    not_managed: frozenset[str]
    missing: tuple[str, ...]


def account_type(owner: str, model: Any, at: str, rules: Rules, bodies: Iterable[dict]) -> Accounting:
    bodies = list(bodies)
    fields = model_fields(model, at)
    missing = tuple(unaccounted(model, at, rules, bodies))
    declared: set[str] = set(rules.absent)
    for body in bodies:
        declared |= {rule_path(p) for p in declared_paths(body)}
    named = _index([p for p, _ in rules.not_managed + rules.ignore] + list(rules.write_only))
    not_managed = frozenset(w for w in fields.writable if w not in declared and w not in missing and named.covers(w))
    # A field the model calls read-only but the step declares (storage networkAcls) is compared, not read-only.
    above_declared = declared | {d[:i] for d in declared for i, ch in enumerate(d) if ch == "."}
    declared_ro = frozenset(r for r in fields.read_only if r in above_declared)
    compared = frozenset(fields.writable - not_managed - set(missing)) | declared_ro
    # Counted once per read-only field: a read-only object's own read-only members are part of it.
    read_only = fields.read_only - declared_ro
    ro_index = _index(read_only)
    outer = frozenset(r for r in read_only if all(p == r for p, _ in ro_index.covering(r)))
    return Accounting(owner, compared, outer, not_managed, missing)
