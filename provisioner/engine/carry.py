"""Update bodies: what a repair sends so it never undoes what others own (pure; used by the executor)."""

from __future__ import annotations

import copy
from fnmatch import fnmatchcase
from typing import Any

from provisioner.core.model import CLEAR
from provisioner.engine.diff import Rules, azure_managed_tag, covers, get_path


def _set_path(body: dict, parts: list[str], value: Any) -> None:
    for part in parts[:-1]:
        if not isinstance(body.get(part), dict):
            body[part] = {}
        body = body[part]
    body[parts[-1]] = value


def carry_owned(desired: dict, observed: dict | None, rules: Rules) -> dict:
    """The body an update sends: every not-managed field we would send carries the value Azure has, and
    Azure-managed tags are kept. A repair of a hand-added tag must not scale an autoscaled plan back."""
    if not observed:
        return desired
    body = copy.deepcopy(desired)
    owned = [p for p, _ in rules.not_managed] + [p for p, reason in rules.ignore if reason.startswith("owned by")]
    for path in _leaf_paths(desired):
        if any(covers(p, path) for p in owned):
            have = get_path(observed, path)
            if have is not None:
                _set_path(body, path.split("."), copy.deepcopy(have))
    # A field declared absent that has a value (a hand-added DNS server, a storage copy scope) is cleared with
    # an explicit null: ARM's PATCH is a JSON merge patch, where null removes a member (RFC 7396; ARM RPC
    # guidelines), and a PUT with null leaves it unset. Paths with wildcards or list markers name no member.
    for pattern in rules.absent:
        if not any(ch in pattern for ch in "*?[") and not _empty(get_path(observed, pattern)):
            _set_path(body, pattern.split("."), CLEAR)
    tags, seen = body.get("tags"), observed.get("tags")
    if isinstance(tags, dict) and isinstance(seen, dict):
        for key, value in seen.items():
            if azure_managed_tag(key) and key not in tags:
                tags[key] = value
    # A dict owned whole keeps the keys someone else owns inside it (managed_keys: a deploy's marker setting,
    # its rollback tags): a repair of a hand-added key must not drop them.
    for path in rules.exact:
        want, have = get_path(body, path), get_path(observed, path)
        if isinstance(want, dict) and isinstance(have, dict):
            for key, value in have.items():
                if key not in want and any(fnmatchcase(key, p) for p, _ in rules.managed_keys):
                    want[key] = copy.deepcopy(value)
    return body


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""


def _leaf_paths(body: Any, path: str = "") -> list[str]:
    """Dotted paths of a body's dict leaves (lists are leaves: not-managed fields are not list elements)."""
    if not isinstance(body, dict) or not body:
        return [path] if path else []
    return [p for k, v in body.items() for p in _leaf_paths(v, f"{path}.{k}" if path else k)]
