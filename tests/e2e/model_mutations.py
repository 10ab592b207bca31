"""What the mutation corpus changes, drawn from the SDK models and the built-ins' aliases (never from a step's
desired body): every writable scalar field of a resource's model, its type and, for enums, its known values
(the models' own metadata and docstrings), and one weaker value per field."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

from provisioner.engine import fields as f
from tests.risky_fields import risky

# Enum values people weaken a setting to, where a member of the enum is that (else any other member).
WEAKER = {"Disabled": "Enabled", "Deny": "Allow", "None": "Enabled", "Required": "Optional", "TLS1_2": "TLS1_0",
          "1.2": "1.0", "1.3": "1.0", "Enabled": "Disabled", "Allow": "Deny", "FtpsOnly": "AllAllowed",
          "SystemAssigned": "None", "Standard": "Premium", "Hot": "Cool", "Primary": "None"}
_KNOWN = re.compile(r'Known values are: ((?:"[^"]*"(?:, | and |, and )?)+)')


@dataclass(frozen=True)
class Field:
    path: str
    kind: str  # bool | int | float | str | list | map
    choices: tuple[str, ...] = ()  # known values of an enum


def _doc_values(cls: Any) -> dict[str, tuple[str, ...]]:
    """`:ivar x: ... Known values are: "A", "B" and "C".` of a model class: attribute -> values."""
    doc = cls.__doc__ or ""
    out = {}
    for name, text in re.findall(r":ivar (\w+):(.*?)(?=\n\s*:(?:ivar|vartype)|\Z)", doc, re.DOTALL):
        found = _KNOWN.search(" ".join(text.split()))
        if found:
            out[name] = tuple(re.findall(r'"([^"]*)"', found.group(1)))
    return out


def _python_names(cls: Any) -> dict[str, str]:
    """wire key -> python attribute name, for either generator's models."""
    if hasattr(cls, "_attribute_map"):
        return {(spec.get("key") or "").replace("\\.", "."): attr for attr, spec in cls._attribute_map.items()}
    return {(field._rest_name_input or attr): attr for attr, (field, _ann) in f._rest_fields(cls).items()}


def _kind(type_text: str) -> str:
    low = type_text.lower()
    if low.startswith("[") or "list[" in low:
        return "list"
    if low.startswith("{") or "dict[str" in low:
        return "map"
    for name in ("bool", "int", "float"):
        if re.search(rf"\b{name}\b", low):
            return name
    return "str"


@cache
def model_fields(model: Any, at: str = "") -> tuple[Field, ...]:
    """Writable scalar fields (lists of scalars and maps too) of an SDK model, with their types."""
    out: list[Field] = []
    _walk(f.resolved(model), at, 0, out)
    return tuple(sorted(set(out), key=lambda x: x.path))


def _type_texts(klass: Any) -> dict[str, str]:
    """wire key -> the attribute's type as written: msrest's `bool`/`[str]`, a TypeSpec annotation."""
    if hasattr(klass, "_attribute_map"):
        return {(s.get("key") or "").replace("\\.", "."): s.get("type") or "" for s in klass._attribute_map.values()}
    return {(fld._rest_name_input or attr): str(ann) for attr, (fld, ann) in f._rest_fields(klass).items()}


def _walk(cls: Any, prefix: str, depth: int, out: list[Field]) -> None:
    if cls is None or isinstance(cls, f.SpecModel) or depth > 8:
        return
    module = sys.modules[cls.__module__]
    for klass in [cls, *f._subtypes(cls)]:
        names = _python_names(klass)
        values = _doc_values(klass)
        texts = _type_texts(klass)
        for key, read_only, kind in f._attributes(klass):
            if not key or read_only:
                continue
            wire = key.replace("\\.", ".")
            path = f"{prefix}.{wire}" if prefix else wire
            inner, _sub = f._inner(kind, path)
            nested = f._model(module, inner)
            if nested is not None:
                if not kind.startswith(("[", "{")):
                    _walk(nested, path, depth + 1, out)
                continue  # lists and maps of objects: the declared-list mutations handle those
            enum = getattr(module, inner, None) or getattr(sys.modules.get(module.__name__.rsplit(".", 1)[0]), inner, None)
            choices = values.get(names.get(wire, ""), ())
            if not choices and isinstance(enum, type) and hasattr(enum, "__members__"):
                choices = tuple(str(m.value) for m in enum)  # a TypeSpec enum class
            out.append(Field(path, _kind(texts.get(wire, kind)), choices))


def weaker(field: Field, current: Any) -> Any:
    """One value a person would weaken the field to (None: no such value for this type)."""
    if field.kind == "bool":
        return not current if isinstance(current, bool) else True
    if field.choices:
        want = WEAKER.get(str(current))
        if want in field.choices:
            return want
        other = [c for c in field.choices if c.lower() != str(current).lower()]
        return other[0] if other else None
    if field.kind == "int":
        return (current + 1) if isinstance(current, int) and not isinstance(current, bool) else 1
    if field.kind == "float":
        return (current + 1.5) if isinstance(current, (int, float)) and not isinstance(current, bool) else 1.5
    if field.kind == "list":
        return [*(current if isinstance(current, list) else []), "203.0.113.9"]
    if field.kind == "map":
        return {**(current if isinstance(current, dict) else {}), "handmade": "by-alice"}
    if isinstance(current, str) and current in WEAKER:
        return WEAKER[current]
    if isinstance(current, str) and current:
        return current + "-tampered"
    return "https://evil.example/tampered"


def _stable(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()


def sample(fields: tuple[Field, ...], named: set[str], others: int) -> list[Field]:
    """Every field that can hurt (a grammar word, or named by a built-in) and `others` more, chosen by a hash
    of their path (the same ones every run, none of them picked by looking at the step)."""
    hurt = [x for x in fields if risky(x.path) or x.path in named]
    rest = sorted((x for x in fields if x not in hurt), key=lambda x: _stable(x.path))
    return hurt + rest[:others]


def synonyms() -> dict[str, tuple[str, ...]]:
    """Settings with two names, as the SDK documents them ("applicationTraffic: ... Previously called
    VnetRouteAllEnabled"): a change of one is a change of the other too."""
    from azure.mgmt.web import models

    out: dict[str, tuple[str, ...]] = {}
    names = {v: k for k, v in _python_names(models.OutboundVnetRouting).items()}
    for attr, text in re.findall(r":ivar (\w+):(.*?)(?=\n\s*:(?:ivar|vartype)|\Z)", models.OutboundVnetRouting.__doc__ or "",
                                 re.DOTALL):
        found = re.search(r"Previously called (\w+)", " ".join(text.split()))
        if found and attr in names:
            new = f"properties.outboundVnetRouting.{names[attr]}"
            old = "properties." + found.group(1)[0].lower() + found.group(1)[1:]
            out[new], out[old] = (old,), (new,)
    return out
