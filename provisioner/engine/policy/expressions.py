"""Template expressions in policy rules (`[concat('JAVA|', parameters('x'))]`): a small parser and the functions
the built-ins use, with policy's own `field()`, `current()`, `requestContext()` and `ipRangeContains()`
(learn.microsoft.com/azure/governance/policy/concepts/definition-structure-policy-rule#policy-functions)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any

from provisioner.engine.policy.aliases import MISSING


class ExpressionError(ValueError):
    """An expression that cannot be evaluated (Azure: the evaluation fails)."""


@dataclass
class Scope:
    """What functions can see while one condition is evaluated."""

    parameters: Mapping[str, Any]
    field: Callable[[str], Any] = lambda name: MISSING
    current: Callable[[str | None], Any] = lambda name: MISSING
    subscription_id: str = ""
    resource_group: Mapping[str, Any] = dc_field(default_factory=dict)
    api_version: str = ""
    now: datetime = dc_field(default_factory=lambda: datetime.now(UTC))


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w]*)|(?P<op>[(),.\[\]]))")


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[") and value.endswith("]") and not value.startswith("[[")


def resolve(value: Any, scope: Scope) -> Any:
    """A literal as-is (`[[x]` is the escaped literal `[x]`); an expression evaluated."""
    if isinstance(value, str):
        if value.startswith("[["):
            return value[1:]
        if is_expression(value):
            return evaluate(value[1:-1], scope)
    return value


def evaluate(text: str, scope: Scope) -> Any:
    tokens = _tokens(text)
    node, pos = _parse(tokens, 0)
    if pos != len(tokens):
        raise ExpressionError(f"unexpected {tokens[pos][1]!r} in [{text}]")
    return _eval(node, scope)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        found = _TOKEN.match(text, pos)
        if not found:
            raise ExpressionError(f"cannot read [{text}] at {text[pos:pos + 10]!r}")
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
        pos = found.end()
    return out


# AST nodes: ("lit", value) | ("call", name, [args]) | ("member", node, name) | ("index", node, node)
Node = tuple[Any, ...]


def _at(tokens: list[tuple[str, str]], pos: int) -> tuple[str, str]:
    if pos >= len(tokens):
        raise ExpressionError("unexpected end of expression")
    return tokens[pos]


def _parse(tokens: list[tuple[str, str]], pos: int) -> tuple[Node, int]:
    kind, text = _at(tokens, pos)
    node: Node
    if kind == "str":
        node, pos = ("lit", text[1:-1].replace("''", "'")), pos + 1
    elif kind == "num":
        node, pos = ("lit", float(text) if "." in text else int(text)), pos + 1
    elif kind == "name" and (pos + 1 >= len(tokens) or tokens[pos + 1][1] != "("):
        if text.lower() not in ("true", "false", "null"):
            raise ExpressionError(f"{text} is not a function call")
        node, pos = ("lit", {"true": True, "false": False, "null": None}[text.lower()]), pos + 1
    elif kind == "name":
        args: list[Node] = []
        pos += 2
        if _at(tokens, pos)[1] == ")":
            pos += 1
        else:
            while True:
                arg, pos = _parse(tokens, pos)
                args.append(arg)
                sep = _at(tokens, pos)[1]
                pos += 1
                if sep == ")":
                    break
                if sep != ",":
                    raise ExpressionError(f"expected ',' or ')', got {sep!r}")
        node = ("call", text, args)
    else:
        raise ExpressionError(f"unexpected {text!r}")
    while pos < len(tokens) and tokens[pos][1] in (".", "["):
        if tokens[pos][1] == ".":
            node, pos = ("member", node, _at(tokens, pos + 1)[1]), pos + 2
        else:
            index, pos = _parse(tokens, pos + 1)
            if _at(tokens, pos)[1] != "]":
                raise ExpressionError("expected ']'")
            node, pos = ("index", node, index), pos + 1
    return node, pos


# Functions whose arguments are evaluated only as needed (ARM: if() evaluates only the branch it takes).
_LAZY = {"if", "and", "or", "coalesce"}


def _eval(node: Node, scope: Scope) -> Any:
    tag = node[0]
    if tag == "lit":
        return node[1]
    if tag == "member":
        return _member(_eval(node[1], scope), node[2])
    if tag == "index":
        return _index(_eval(node[1], scope), _eval(node[2], scope))
    name, args = node[1], node[2]
    low = name.lower()
    if low in _LAZY:
        return _lazy(low, args, scope)
    return call(name, [_eval(a, scope) for a in args], scope)


def _lazy(name: str, args: list[Node], scope: Scope) -> Any:
    if name == "if":
        if len(args) != 3:
            raise ExpressionError("if() takes 3 arguments")
        return _eval(args[1] if _eval(args[0], scope) else args[2], scope)
    if name == "and":
        return all(bool(_eval(a, scope)) for a in args)
    if name == "or":
        return any(bool(_eval(a, scope)) for a in args)
    for a in args:  # coalesce
        value = _plain(_eval(a, scope))
        if value is not None:
            return value
    return None


def _member(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            if k.lower() == name.lower():
                return v
        return None
    raise ExpressionError(f"cannot read .{name} of {type(value).__name__}")


def _index(value: Any, index: Any) -> Any:
    if isinstance(value, list) and isinstance(index, int):
        if not -len(value) <= index < len(value):
            raise ExpressionError(f"index {index} is out of range")
        return value[index]
    if isinstance(value, dict) and isinstance(index, str):
        return _member(value, index)
    raise ExpressionError(f"cannot index {type(value).__name__} with {index!r}")


def _plain(value: Any) -> Any:
    return None if value is MISSING else value


def _empty(value: Any) -> bool:
    value = _plain(value)
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def _date(text: Any) -> datetime:
    value = str(text).replace("Z", "+00:00")
    # .NET ticks (7 fractional digits) are more than fromisoformat takes.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """Policy's DateTime format, yyyy-MM-ddTHH:mm:ss.fffffffZ (utcNow())."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _ip_contains(outer: Any, inner: Any) -> bool:
    def network(text: Any) -> Any:
        text = str(text).strip()
        if "-" in text:
            start, end = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            return list(ipaddress.summarize_address_range(start, end))  # type: ignore[arg-type]
        return [ipaddress.ip_network(text, strict=False)]
    try:
        outers, inners = network(outer), network(inner)
    except ValueError as exc:
        raise ExpressionError(f"ipRangeContains: {exc}") from None
    return all(any(i.version == o.version and i.subnet_of(o) for o in outers) for i in inners)


def _concat(*args: Any) -> Any:
    if args and all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    return "".join("" if _plain(a) is None else (str(a).lower() if isinstance(a, bool) else str(a)) for a in args)


def _string(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return str(value)


def _first(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, str):
        return value[:1]
    return value[0] if value else None


def _pad_left(value: Any, width: Any, char: Any = " ") -> str:
    return _string(value).rjust(int(width), str(char)[:1] or " ")


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "if": lambda cond, a, b: a if cond else b,
    "and": lambda *args: all(bool(a) for a in args),
    "or": lambda *args: any(bool(a) for a in args),
    "not": lambda a: not a,
    "equals": lambda a, b: _plain(a) == _plain(b),
    "empty": _empty,
    "coalesce": lambda *args: next((_plain(a) for a in args if _plain(a) is not None), None),
    "first": _first,
    "last": lambda v: (_plain(v) or [None])[-1],
    "split": lambda text, sep: _string(text).split(sep) if isinstance(sep, str) else re.split("|".join(map(re.escape, sep)), _string(text)),
    "tolower": lambda v: _string(v).lower(),
    "toupper": lambda v: _string(v).upper(),
    "string": _string,
    "int": lambda v: int(float(_string(v))) if not isinstance(v, int) else v,
    "bool": lambda v: v if isinstance(v, bool) else _string(v).lower() == "true",
    "length": lambda v: len(_plain(v) or []),
    "padleft": _pad_left,
    "createarray": lambda *args: list(args),
    "contains": lambda container, item: (item in container) if isinstance(container, list | dict)
    else _string(item).lower() in _string(container).lower(),
    "startswith": lambda a, b: _string(a).lower().startswith(_string(b).lower()),
    "endswith": lambda a, b: _string(a).lower().endswith(_string(b).lower()),
    "substring": lambda s, start, length=None: _string(s)[int(start):None if length is None else int(start) + int(length)],
    "replace": lambda s, old, new: _string(s).replace(_string(old), _string(new)),
    "trim": lambda s: _string(s).strip(),
    "take": lambda v, n: _plain(v)[:int(n)] if _plain(v) is not None else None,
    "skip": lambda v, n: _plain(v)[int(n):] if _plain(v) is not None else None,
    "union": lambda *args: ({k: v for a in args for k, v in a.items()} if all(isinstance(a, dict) for a in args)
                            else list(dict.fromkeys(x for a in args for x in a))),
    "trygetproperty": lambda obj, name: _member(obj, name) if isinstance(obj, dict) else None,
    "tryget": lambda obj, name: _member(obj, name) if isinstance(obj, dict) else None,
    "less": lambda a, b: a < b,
    "lessorequals": lambda a, b: a <= b,
    "greater": lambda a, b: a > b,
    "greaterorequals": lambda a, b: a >= b,
    "iprangecontains": _ip_contains,
    "adddays": lambda moment, days: iso(_date(moment) + timedelta(days=int(days))),
}


def call(name: str, args: list[Any], scope: Scope) -> Any:
    low = name.lower()
    if low == "parameters":
        key = str(args[0])
        for k, v in scope.parameters.items():
            if k.lower() == key.lower():
                return v
        raise ExpressionError(f"parameter {key!r} has no value")
    if low == "field":
        return _plain(scope.field(str(args[0])))
    if low == "current":
        return _plain(scope.current(str(args[0]) if args else None))
    if low == "utcnow":
        return iso(scope.now)
    if low == "subscription":
        return {"subscriptionId": scope.subscription_id, "id": f"/subscriptions/{scope.subscription_id}"}
    if low == "resourcegroup":
        return dict(scope.resource_group)
    if low == "requestcontext":
        return {"apiVersion": scope.api_version}
    fn = FUNCTIONS.get(low)
    if fn is None:
        raise ExpressionError(f"function {name}() is not supported")
    try:
        return fn(*args)
    except ExpressionError:
        raise
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ExpressionError(f"{name}(): {exc}") from None
