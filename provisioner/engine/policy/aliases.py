"""Policy aliases -> paths in a resource's ARM body, and the values a path selects (`[*]` walks an array).

An alias is a resource type followed by a property path (policy/builtins/INDEX.md): the path lives under
`properties` unless it names a field of the ARM envelope (`kind`, `sku`, `identity`, `tags`, ...). Where Azure's
published alias differs from that rule, the exception is listed here with its reason. Keys compare
case-insensitively, as Azure Policy reads them (App Insights answers `DisableLocalAuth`, the alias says the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Fields of the ARM envelope: an alias path starting with one of them is not under `properties`.
ENVELOPE = frozenset({"id", "name", "type", "kind", "location", "tags", "identity", "sku", "plan", "zones", "etag",
                      "managedby", "extendedlocation"})
# Plain fields (learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule#fields).
PLAIN = frozenset({"name", "fullname", "kind", "type", "location", "id", "identity.type", "tags"})

# Aliases whose published path is not the rule above (Get-AzPolicyAlias / `az provider show --expand
# resourceTypes/aliases`): a site's `sku` is the read-only `properties.sku` string (arm-examples GetWebApp: no
# top-level sku); the legacy diagnostic-setting aliases without `[*]` name every entry of the array.
EXCEPTIONS: dict[str, str] = {
    "microsoft.web/sites/sku": "properties.sku",
    "microsoft.web/sites/slots/sku": "properties.sku",
    "microsoft.insights/diagnosticsettings/logs.enabled": "properties.logs[*].enabled",
    "microsoft.insights/diagnosticsettings/metrics.enabled": "properties.metrics[*].enabled",
}
# Arrays of ARM sub-resources: each element has its own `id`/`name` and a `properties` envelope, and the alias
# skips that envelope (`subnets[*].defaultOutboundAccess` is `properties.subnets[*].properties.defaultOutboundAccess`,
# the shape of a VNet GET; a private endpoint's `privateLinkServiceConnections[*].groupIds[*]`, arm-examples
# Microsoft.Network PrivateEndpointGet).
SUBRESOURCE_ARRAYS: dict[str, frozenset[str]] = {
    "microsoft.network/virtualnetworks": frozenset({"subnets", "virtualnetworkpeerings", "subnets[*].ipconfigurations"}),
    "microsoft.network/virtualnetworks/subnets": frozenset({"ipconfigurations"}),
    "microsoft.network/privateendpoints": frozenset({"privatelinkserviceconnections",
                                                     "manualprivatelinkserviceconnections"}),
    "microsoft.network/azurefirewalls": frozenset({"ipconfigurations"}),
    "microsoft.keyvault/vaults": frozenset({"privateendpointconnections"}),
}
# The many site `config` resources share one type; aliases of the `web` one carry a `web.` prefix.
CONFIG_TYPES = frozenset({"microsoft.web/sites/config", "microsoft.web/sites/slots/config"})
_TAG = re.compile(r"^tags(?:\[\s*'?(?P<a>.*?)'?\s*\]|\.(?P<b>.+))$", re.IGNORECASE)


@dataclass(frozen=True)
class Path:
    """A dotted body path; a `[*]` segment walks every element of an array."""

    segments: tuple[str, ...]

    @property
    def text(self) -> str:
        return ".".join(self.segments).replace(".[*]", "[*]")

    @property
    def walks(self) -> bool:
        return "[*]" in self.segments


def alias_type(alias: str) -> str:
    return alias.rsplit("/", 1)[0] if "/" in alias else ""


def path_of(alias: str) -> Path:
    """The body path an alias or plain field names."""
    low = alias.strip().lower()
    tag = _TAG.match(alias.strip())
    if tag:
        key = (tag.group("a") if tag.group("a") is not None else tag.group("b")).replace("''", "'")
        return Path(("tags", key))
    if low in PLAIN or "/" not in alias:
        return Path(tuple(_split(alias)))
    text = EXCEPTIONS.get(low)
    if text is None:
        rtype, prop = alias.rsplit("/", 1)
        if rtype.lower() in CONFIG_TYPES and prop.lower().startswith("web."):
            prop = prop[4:]
        head = re.split(r"[.\[]", prop, maxsplit=1)[0].lower()
        text = prop if head in ENVELOPE else f"properties.{prop}"
        text = _subresources(rtype.lower(), text)
    return Path(tuple(_split(text)))


def _subresources(rtype: str, text: str) -> str:
    arrays = SUBRESOURCE_ARRAYS.get(rtype)
    if not arrays or not text.startswith("properties."):
        return text
    out, rest, walked = "properties", text[len("properties."):], ""
    while rest:
        name, sep, rest = rest.partition("[*]")
        out += "." + name.lstrip(".") if name else ""
        walked += name.lstrip(".")
        if not sep:
            break
        out += "[*]"
        nested = rest.lstrip(".")
        head = re.split(r"[.\[]", nested, maxsplit=1)[0].lower()
        if walked.lower() in arrays and nested and head not in ("id", "name", "type", "etag"):
            out += ".properties"
        walked += "[*]"
        rest = nested
    return out


def _split(text: str) -> list[str]:
    parts: list[str] = []
    for piece in text.split("."):
        while "[*]" in piece:
            before, _, piece = piece.partition("[*]")
            if before:
                parts.append(before)
            parts.append("[*]")
        if piece:
            parts.append(piece)
    return parts


MISSING: Any = type("Missing", (), {"__repr__": lambda self: "(absent)", "__bool__": lambda self: False})()


def child(value: Any, key: str) -> Any:
    """`value[key]`, matching the key case-insensitively; MISSING when absent."""
    if not isinstance(value, dict):
        return MISSING
    if key in value:
        return value[key]
    low = key.lower()
    for k, v in value.items():
        if k.lower() == low:
            return v
    return MISSING


@dataclass(frozen=True)
class Selection:
    """What a path selects: one value (MISSING when absent), or a collection when the path walks an array."""

    values: tuple[Any, ...]
    collection: bool
    # Where each value sits: the array indexes taken at each `[*]` (for `count` narrowing).
    spots: tuple[tuple[int, ...], ...] = ()

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else MISSING


def select(body: Any, path: Path) -> Selection:
    """Walk `path` in `body`. Without `[*]`: the single value; with it: one value per element it reaches, in
    order, MISSING for an element that lacks the property (author-policies-for-arrays: an alias over an array
    evaluates each member); a missing array selects an empty collection ("missingArray[*]")."""
    level: list[tuple[Any, tuple[int, ...]]] = [(body, ())]
    for seg in path.segments:
        nxt: list[tuple[Any, tuple[int, ...]]] = []
        for value, spot in level:
            if seg == "[*]":
                if isinstance(value, list):
                    nxt.extend((v, (*spot, i)) for i, v in enumerate(value))
            else:
                nxt.append((child(value, seg), spot))
        level = nxt
    if path.walks:
        return Selection(tuple(v for v, _ in level), True, tuple(s for _, s in level))
    return Selection((level[0][0] if level else MISSING,), False, ((),))


def narrow(body: Any, path: Path, spot: tuple[int, ...]) -> Any:
    """A copy of `body` where each array the path walks holds only the element at `spot` (how a `count`'s
    `where` sees the resource: "as if i is the only member of the array", author-policies-for-arrays)."""
    return _narrow(body, path.segments, list(spot))


def _narrow(value: Any, segments: tuple[str, ...], spot: list[int]) -> Any:
    if not segments:
        return value
    seg, rest = segments[0], segments[1:]
    if seg == "[*]":
        if not isinstance(value, list) or not spot:
            return value
        index = spot[0]
        return [_narrow(value[index], rest, spot[1:])] if 0 <= index < len(value) else []
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for k in value:
        if k.lower() == seg.lower():
            out[k] = _narrow(value[k], rest, spot)
            break
    return out


def prefix(path: Path, of: Path) -> bool:
    """Whether `path` starts with every segment of `of` (case-insensitive)."""
    if len(path.segments) < len(of.segments):
        return False
    return all(a.lower() == b.lower() for a, b in zip(path.segments, of.segments, strict=False))
