"""ARM path parsing: turns a request path into scope, type, names, and normalizes locations."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import ArmError

RG_TYPE = "Microsoft.Resources/resourceGroups"


@dataclass(frozen=True)
class ArmPath:
    """A parsed ARM path. `types`/`names` belong to the last `/providers/{namespace}` block."""

    path: str  # canonical request path: decoded, single slashes, no trailing slash
    subscription: str | None
    resource_group: str | None
    scope: str  # everything before the last /providers/ block ('' at tenant scope)
    namespace: str
    types: tuple[str, ...]
    names: tuple[str, ...]

    @property
    def is_collection(self) -> bool:
        return len(self.names) < len(self.types)

    @property
    def full_type(self) -> str:
        return f"{self.namespace}/{'/'.join(self.types)}"

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else ""

    @property
    def is_group(self) -> bool:
        return self.full_type.lower() == RG_TYPE.lower()

    @property
    def parent_id(self) -> str:
        """The id that must exist first: the parent resource, the group, or the extension's scope."""
        if self.is_group:
            return f"/subscriptions/{self.subscription}"
        k = len(self.names) if self.is_collection else len(self.names) - 1
        if k <= 0:
            return self.scope
        pairs = [f"{t}/{n}" for t, n in zip(self.types[:k], self.names[:k], strict=True)]
        return f"{self.scope}/providers/{self.namespace}/" + "/".join(pairs)

    @property
    def is_child(self) -> bool:
        return len(self.types) > 1 and not self.is_group

    def child_path(self, *segments: str) -> str:
        return "/".join([self.path, *segments])


_MULTI_SLASH = re.compile(r"/{2,}")


def canonical(path: str) -> str:
    """Decode %2F (the locks SDK percent-encodes scopes) and collapse duplicate slashes."""
    path = _MULTI_SLASH.sub("/", "/" + unquote(path).strip("/"))
    return path.rstrip("/") or "/"


def parse(path: str) -> ArmPath:
    """Parse an ARM path; raises 400 InvalidResourceType-like errors for shapes ARM would refuse."""
    path = canonical(path)
    segs = [s for s in path.split("/") if s]
    sub = group = None
    i = 0
    if len(segs) >= 2 and segs[0].lower() == "subscriptions":
        sub, i = segs[1], 2
        if i < len(segs) and segs[i].lower() == "resourcegroups":
            scope = f"/subscriptions/{sub}"
            if i + 1 == len(segs):
                return ArmPath(path, sub, None, scope, "Microsoft.Resources", ("resourceGroups",), ())
            group, i = segs[i + 1], i + 2
            if i == len(segs):
                return ArmPath(path, sub, group, scope, "Microsoft.Resources", ("resourceGroups",), (group,))
    if i >= len(segs):
        raise ArmError(400, "InvalidRequestUri", f"The request URI '{path}' is not a valid ARM resource URI.")
    # Split the remainder into /providers/{ns}/type/name... blocks; a 'providers' at a type position
    # starts an extension resource block (locks, diagnostic settings, role assignments...).
    blocks: list[tuple[int, str, list[str]]] = []
    while i < len(segs):
        if segs[i].lower() != "providers" or i + 1 >= len(segs):
            if not blocks and segs[i].lower() in {"resources", "operationresults"}:
                # /subscriptions/{s}[/resourceGroups/{g}]/resources: the generic list.
                start = path.lower().rfind("/" + segs[i].lower())
                return ArmPath(path, sub, group, path[:start], "", (segs[i],), tuple(segs[i + 1 :]))
            raise ArmError(400, "InvalidRequestUri", f"The request URI '{path}' is not a valid ARM resource URI.")
        start, ns = i, segs[i + 1]
        j = i + 2
        rest: list[str] = []
        while j < len(segs):
            if (j - i - 2) % 2 == 0 and segs[j].lower() == "providers" and j + 1 < len(segs):
                break
            rest.append(segs[j])
            j += 1
        blocks.append((start, ns, rest))
        i = j
    start, ns, rest = blocks[-1]
    for _, _, earlier in blocks[:-1]:
        if len(earlier) % 2:
            raise ArmError(400, "InvalidRequestUri", f"The request URI '{path}' is not a valid ARM resource URI.")
    scope = "/" + "/".join(segs[:start]) if start else ""
    types = tuple(rest[0::2])
    names = tuple(rest[1::2])
    if not types:
        raise ArmError(400, "InvalidRequestUri", f"The request URI '{path}' names no resource type.")
    return ArmPath(path, sub, group, scope, ns, types, names)


def canonical_id(path: str) -> str:
    """ARM's casing for the fixed segments (subscriptions, resourceGroups, providers); names and
    types keep the casing of the request."""
    segs = path.split("/")
    for i, seg in enumerate(segs):
        low = seg.lower()
        if low == "subscriptions" and i == 1:
            segs[i] = "subscriptions"
        elif low == "resourcegroups" and i == 3:
            segs[i] = "resourceGroups"
        elif low == "providers" and (i % 2 == 1 or i == 5):
            segs[i] = "providers"
    return "/".join(segs)


def normalize_location(value: object) -> object:
    """ARM's canonical location: 'East US' -> 'eastus'; 'Global' -> 'global'."""
    if not isinstance(value, str):
        return value
    return value.replace(" ", "").lower()


def is_under(child_id: str, parent_id: str) -> bool:
    """Case-insensitive: is child_id the same as or below parent_id."""
    c, p = child_id.lower(), parent_id.lower().rstrip("/")
    return c == p or c.startswith(p + "/")


def split_extension(resource_id: str) -> tuple[str, str]:
    """For an extension resource id, return (scope, rest) split at the last /providers/."""
    k = resource_id.lower().rfind("/providers/")
    return resource_id[:k], resource_id[k:]


# Display names used where Azure echoes a region's display name (geoRegion on App Service plans).
REGION_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westeurope": "West Europe",
    "northeurope": "North Europe",
    "uksouth": "UK South",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "canadacentral": "Canada Central",
    "australiaeast": "Australia East",
    "japaneast": "Japan East",
}


def region_display(location: str) -> str:
    return REGION_NAMES.get(location.lower(), location)


@functools.lru_cache(maxsize=8192)
def cached_parse(path: str) -> ArmPath:
    return parse(path)


def type_of(resource_id: str) -> str:
    try:
        return cached_parse(resource_id).full_type
    except ArmError:
        return ""
