"""Azure ABAC conditions (conditionVersion 2.0): parse once, evaluate against one request's attributes.

The grammar is learn.microsoft.com/azure/role-based-access-control/conditions-format: `ActionMatches{'...'}`,
`@Request[...]`/`@Resource[...]` attributes, the cross-product operators (`ForAnyOfAnyValues:GuidEquals {...}`),
`!`/`NOT`, `AND`/`&&`, `OR`/`||` and parentheses (NOT binds tightest, then AND, then OR). A condition this parser
cannot read is refused when the assignment is written ("The given role assignment condition is invalid.",
conditions-troubleshoot.md), never ignored. An attribute the request does not carry makes its expression false
(ABAC reads the request body only: an omitted principalType fails a principal-type condition, the 403 that
hashicorp/terraform-provider-azurerm#24271 added `principal_type` for).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<lparen>\() | (?P<rparen>\)) | (?P<lbrace>\{) | (?P<rbrace>\}) | (?P<comma>,) |
    (?P<and>AND\b|&&) | (?P<or>OR\b|\|\|) | (?P<not>NOT\b|!) |
    (?P<matches>(?:ActionMatches|SubOperationMatches)(?=\s*\{)) |
    (?P<attr>@(?:Request|Resource|Principal|Environment)\[[^\]]+\]) |
    (?P<op>(?:ForAnyOfAnyValues|ForAllOfAnyValues|ForAnyOfAllValues|ForAllOfAllValues):[A-Za-z]+|(?:String|Guid|Numeric|Bool|DateTime|Time)[A-Za-z]+) |
    (?P<string>'[^']*') |
    (?P<bare>[0-9A-Za-z][0-9A-Za-z.\-]*)
)""", re.VERBOSE)

_BASE_OPS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda a, b: a == b,
    "stringnotequals": lambda a, b: a != b,
    "stringequalsignorecase": lambda a, b: a.lower() == b.lower(),
    "stringnotequalsignorecase": lambda a, b: a.lower() != b.lower(),
    "stringstartswith": lambda a, b: a.startswith(b),
    "stringstartswithignorecase": lambda a, b: a.lower().startswith(b.lower()),
    "guidequals": lambda a, b: a.lower() == b.lower(),
    "guidnotequals": lambda a, b: a.lower() != b.lower(),
}


class ConditionError(ValueError):
    """The condition is not one ARM would accept."""


@dataclass(frozen=True)
class Context:
    """What one request offers a condition: its action, and the attributes of the request and the resource."""

    action: str
    request: dict[str, list[str]] = field(default_factory=dict)  # e.g. {"microsoft.authorization/roleassignments:roledefinitionid": [guid]}
    resource: dict[str, list[str]] = field(default_factory=dict)


Node = Callable[[Context], bool]


def parse(text: str) -> Node:
    """A condition's evaluator; raises ConditionError for anything ARM would refuse as invalid."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"unexpected text at {pos}: {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    parser = _Parser(tokens)
    node = parser.expr()
    if parser.i != len(tokens):
        raise ConditionError(f"unexpected {tokens[parser.i][1]!r}")
    return node


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> str:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else ""

    def take(self, kind: str) -> str:
        if self.peek() != kind:
            found = self.tokens[self.i][1] if self.i < len(self.tokens) else "the end"
            raise ConditionError(f"expected {kind}, found {found!r}")
        self.i += 1
        return self.tokens[self.i - 1][1]

    def expr(self) -> Node:
        left = self.conjunction()
        while self.peek() == "or":
            self.take("or")
            right = self.conjunction()
            left = (lambda a, b: lambda ctx: a(ctx) or b(ctx))(left, right)
        return left

    def conjunction(self) -> Node:
        left = self.unary()
        while self.peek() == "and":
            self.take("and")
            right = self.unary()
            left = (lambda a, b: lambda ctx: a(ctx) and b(ctx))(left, right)
        return left

    def unary(self) -> Node:
        kind = self.peek()
        if kind == "not":
            self.take("not")
            inner = self.unary()
            return lambda ctx: not inner(ctx)
        if kind == "lparen":
            self.take("lparen")
            inner = self.expr()
            self.take("rparen")
            return inner
        if kind == "matches":
            self.take("matches")
            patterns = self.values()
            return lambda ctx: any(action_matches(p, ctx.action) for p in patterns)
        if kind == "attr":
            return self.comparison()
        raise ConditionError(f"unexpected {self.tokens[self.i][1] if kind else 'end of condition'!r}")

    def values(self) -> list[str]:
        if self.peek() != "lbrace":
            return [self.scalar()]
        self.take("lbrace")
        out = [self.scalar()]
        while self.peek() == "comma":
            self.take("comma")
            out.append(self.scalar())
        self.take("rbrace")
        return out

    def scalar(self) -> str:
        kind = self.peek()
        if kind == "string":
            return self.take("string")[1:-1]
        return self.take("bare")

    def comparison(self) -> Node:
        attr = self.take("attr")
        source, _, name = attr[1:-1].partition("[")
        op = self.take("op")
        quantifier, _, base = op.rpartition(":")
        compare = _BASE_OPS.get(base.lower())
        if compare is None:
            raise ConditionError(f"unsupported operator {op!r}")
        right = self.values()
        if not quantifier and len(right) != 1:
            raise ConditionError(f"{op} takes one value; a set needs a cross-product operator")
        key, where = name.lower(), source.lower()

        def evaluate(ctx: Context) -> bool:
            attrs = ctx.request if where == "request" else ctx.resource if where == "resource" else {}
            left = attrs.get(key)
            if not left:
                return False
            return _quantified(quantifier.lower(), compare, left, right)

        return evaluate


def _quantified(quantifier: str, compare: Callable[[str, str], bool], left: list[str], right: list[str]) -> bool:
    if quantifier in ("", "foranyofanyvalues"):
        return any(compare(a, b) for a in left for b in right)
    if quantifier == "forallofanyvalues":
        return all(any(compare(a, b) for b in right) for a in left)
    if quantifier == "foranyofallvalues":
        return any(all(compare(a, b) for b in right) for a in left)
    return all(compare(a, b) for a in left for b in right)  # forallofallvalues


def action_matches(pattern: str, action: str) -> bool:
    """ARM's action wildcard: `*` stands for any run of characters, case-insensitive (INDEX.md of the role
    definitions; `Microsoft.Authorization/*/Write` matches `Microsoft.Authorization/locks/write`)."""
    return _pattern(pattern).fullmatch(action) is not None


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(pattern: str) -> re.Pattern[str]:
    found = _PATTERNS.get(pattern)
    if found is None:
        found = re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.IGNORECASE)
        _PATTERNS[pattern] = found
    return found


def check(text: Any, version: Any) -> Node:
    """Validate a condition as a role assignment PUT carries it: text and conditionVersion '2.0' (a '1.0'
    gets the same refusal, MicrosoftDocs/azure-docs#119449)."""
    if not isinstance(text, str) or not text.strip() or str(version) != "2.0":
        raise ConditionError("condition needs text and conditionVersion 2.0")
    return parse(text)
