"""Core value types shared by every layer: resource references, changes, plans and outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class _Unknown:
    """Marker for a desired value that is only known once a dependency exists ("known after apply")."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
SENSITIVE = "(sensitive)"


class _Clear:
    """Marker in an update body: remove this member (sent as JSON null, which a merge patch reads as "remove":
    RFC 7396). An SDK model drops None, so the SDK boundary sends bodies holding it as JSON itself."""

    def __repr__(self) -> str:
        return "(cleared)"


CLEAR: Any = _Clear()


@dataclass(frozen=True)
class ResourceRef:
    """Where a resource lives. `scope` overrides the group-based id for extension/subscription resources."""

    subscription_id: str
    resource_group: str | None
    type: str
    name: str
    parent: str | None = None  # "sites/myapp" style path between the provider and the child type
    scope: str | None = None  # full ARM id for resources that are not under resourceGroups/providers

    @property
    def id(self) -> str:
        if self.scope is not None:
            return self.scope
        if self.type.lower() == "microsoft.resources/resourcegroups":
            return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.name}"
        namespace, _, rest = self.type.partition("/")
        child = rest.split("/")[-1]
        middle = f"{self.parent}/" if self.parent else ""
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{namespace}/{middle}{child}/{self.name}"
        )


class Action(enum.Enum):
    NOOP = "noop"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def symbol(self) -> str:
        return {"noop": " ", "create": "+", "update": "~", "replace": "-/+", "delete": "-"}[self.value]


@dataclass(frozen=True)
class PropertyChange:
    path: str  # ARM wire names, dotted: properties.siteConfig.minTlsVersion
    before: Any
    after: Any
    sensitive: bool = False
    requires_replace: bool = False


# Why a field of a GET body was not compared (Ignored.kind). Reports count each kind apart.
READ_ONLY = "read-only"  # server-populated: the SDK model / REST spec marks it readOnly
NOT_MANAGED = "not managed"  # writable, deliberately left to someone else; the step says why
WRITE_ONLY = "write-only"  # sent on create, never returned (passwords): not comparable
AZURE_MANAGED = "azure-managed"  # tags Azure adds itself (`hidden-link:*`, `$type`)
UNDECLARED = "undeclared"  # writable, neither declared nor listed: tests/unit/test_field_accounting.py forbids it
IGNORED_KINDS = (READ_ONLY, NOT_MANAGED, WRITE_ONLY, AZURE_MANAGED, UNDECLARED)


@dataclass(frozen=True)
class Ignored:
    """A property the differ deliberately did not compare, the class it falls in and the rule that said so."""

    path: str
    rule: str  # the reason, e.g. "server-populated", "owned by autoscale", "azure-managed tag"
    kind: str = ""  # one of IGNORED_KINDS; empty: inferred from the rule (see `category`)

    @property
    def category(self) -> str:
        """The class reports count: the kind, or for callers that give only a rule, the class it names."""
        if self.kind:
            return self.kind
        if self.rule in ("server-populated", READ_ONLY):
            return READ_ONLY
        if self.rule.startswith("write-only"):
            return WRITE_ONLY
        if self.rule.startswith("azure-managed"):
            return AZURE_MANAGED
        return NOT_MANAGED

    @property
    def why(self) -> str:
        """One phrase for listings: `read-only: server-populated`, `not managed: owned by autoscale`."""
        cat = self.category
        if not self.rule or self.rule.startswith(cat):
            return self.rule or cat
        return f"{cat}: {self.rule}"


class HoldKind(enum.Enum):
    """Why a change that differs is not applied by an ordinary run."""

    WAITING = "waiting"  # a precondition outside this run (a DNS delegation another environment creates)
    REFUSED = "refused"  # destructive: needs an explicit flag (--allow-replace), or is never allowed (data in production)
    FOR_A_PERSON = "left for a person"  # a management lock stands, or the collection reports rather than removes


@dataclass(frozen=True)
class Hold:
    kind: HoldKind
    why: str  # what must happen first, or why it is refused; names the command or the lock where there is one
    lock: str | None = None  # the ARM id of the management lock a person must lift first, when one stands

    @property
    def text(self) -> str:
        """The line reports print: `left for a person: <why>` for a person's decision, the reason otherwise."""
        return f"{self.kind.value}: {self.why}" if self.kind is HoldKind.FOR_A_PERSON else self.why


@dataclass(frozen=True)
class Change:
    step: str
    ref: ResourceRef
    action: Action
    properties: tuple[PropertyChange, ...] = ()
    reason: str = ""
    ignored: tuple[Ignored, ...] = ()
    hold: Hold | None = None  # set when the change is not applied by an ordinary run (see HoldKind)
    attribution: Attribution | None = None
    collection: str | None = None  # set on a child of a collection we own that no env file declares

    @property
    def type(self) -> str:
        return self.ref.type

    @property
    def waiting(self) -> str | None:
        """What must happen outside this run first; None unless the change waits (not applied, not a failure)."""
        return self.hold.why if self.hold and self.hold.kind is HoldKind.WAITING else None

    @property
    def refused(self) -> str | None:
        """Why a run will not apply it (needs a flag, or a person); None when it may be applied or only waits."""
        return self.hold.text if self.hold and self.hold.kind is not HoldKind.WAITING else None


@dataclass(frozen=True)
class Attribution:
    """Who last wrote a drifted resource out of band, from the Activity Log."""

    caller: str
    timestamp: str
    operation: str = ""


@dataclass(frozen=True)
class ReadError:
    """A step the plan could not read: its changes are unknown, so nothing is applied (exit 1)."""

    step: str
    message: str


@dataclass(frozen=True)
class Plan:
    env: str
    changes: tuple[Change, ...]
    errors: tuple[ReadError, ...] = ()  # steps that could not be read (or whose inputs could not be gathered)
    unmanaged: tuple[tuple[str, str], ...] = ()  # (id, type) in the group that no step declares

    def count(self, action: Action) -> int:
        """Changes of this action that a run would apply now (waiting ones are counted apart)."""
        return sum(1 for c in self.changes if c.action is action and c.waiting is None)

    @property
    def summary(self) -> dict[str, int]:
        return {a.value: self.count(a) for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.NOOP)}

    @property
    def pending(self) -> tuple[Change, ...]:
        """What a run would apply now."""
        return tuple(c for c in self.changes if c.action is not Action.NOOP and c.waiting is None)

    @property
    def waiting(self) -> tuple[Change, ...]:
        """Changes held back until a precondition outside this run is met (never drift, never a failure)."""
        return tuple(c for c in self.changes if c.action is not Action.NOOP and c.waiting is not None)

    @property
    def has_changes(self) -> bool:
        return bool(self.pending)

    @property
    def drift(self) -> tuple[Change, ...]:
        """Out-of-band changes to existing resources, managed resources that went missing, and children of a
        collection we own that no env file declares (DELETE)."""
        return tuple(c for c in self.changes
                     if c.action in (Action.UPDATE, Action.REPLACE, Action.CREATE, Action.DELETE) and c.waiting is None)


class Status(enum.Enum):
    APPLIED = "applied"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNCHANGED = "unchanged"
    LEFT_FOR_A_PERSON = "left"  # held for a person (a lock, a reported child): listed, not a failure
    WAITING = "waiting"  # a precondition outside this run is not met: not applied, not a failure


# Why a step is SKIPPED after Ctrl-C (provisioner/engine/executor.py; render.interrupted_text counts them).
NOT_STARTED = "not started: interrupted"
ABANDONED = "abandoned while in flight: the operation continues in Azure; the next run re-attaches to it"


@dataclass(frozen=True)
class Outcome:
    change: Change
    status: Status
    error: str | None = None
    seconds: float = 0.0
