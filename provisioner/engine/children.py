"""Collections we own whole: the contract for listing a parent's children, and the pure decision on the
children no env file declares (revoke what grants access, report what holds data or protects it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from provisioner.core.model import Action, Change, Hold, HoldKind, PropertyChange, ResourceRef
from provisioner.engine.locks import child_hold, delete_blocked

Kind = Literal["revoke", "report"]


@dataclass(frozen=True)
class Child:
    """One child as listed under its parent: its ARM id, short name and the body the list returned."""

    id: str
    name: str
    body: Mapping[str, Any]


class Children:
    """A set of children of one parent resource that the platform defines (firewall rules on a server,
    role assignments at a scope). A child no step declares is drift. Subclasses live in steps/ (they call
    the SDK); the engine sees only this contract."""

    kind: ClassVar[Kind] = "revoke"  # revoke: provision deletes it; report: left for a person
    why: ClassVar[str] = ""  # why this kind: shown with every undeclared child

    def __init__(self, name: str, parent_step: str, parent_id: str, child_type: str):
        self.name = name  # unique per environment, e.g. "postgres_server/firewallRules"
        self.parent_step = parent_step  # listed only when this step's resource exists
        self.parent_id = parent_id
        self.child_type = child_type

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @property
    def lane(self) -> str | None:
        """Deletes share the parent's write lane (one write at a time on a PostgreSQL server)."""
        return None

    def list(self, clients: Any) -> list[Child]:
        """Every child of the parent as ARM lists it (READ)."""
        raise NotImplementedError

    def delete(self, clients: Any, child: Child) -> None:
        raise NotImplementedError

    def declared(self, step_refs: Iterable[tuple[str, ResourceRef]]) -> set[str]:
        """Names (lower-cased) of the children some step declares; by default a step of the child type whose
        id is under the parent (`declared_names`). A collection of several child types overrides it."""
        return declared_names(self, step_refs)

    def type_of(self, child: Child) -> str:
        """The ARM type of one listed child (a DNS zone's record sets are of one type per record kind)."""
        return self.child_type

    def declared_from(self, observed: Mapping[str, dict | None]) -> set[str]:
        """Names declared by what other resources say (rules named after a site's outbound addresses), for
        collections whose children no step names one by one. `observed` is what the plan read."""
        return set()

    def platform(self, child: Child) -> str | None:
        """Why a listed child is not ours to judge (Azure creates it, it is inherited from above), or None."""
        return None

    def shown(self, child: Child) -> dict[str, Any]:
        """The few fields that say what the child is (who it grants, which addresses): the change's lines."""
        return {}


def declared_names(collection: Children, step_refs: Iterable[tuple[str, ResourceRef]]) -> set[str]:
    """Names of the children some step declares: same type, id under the parent (ARM ids are
    case-insensitive; the last segment is the child's name, whatever the list calls it)."""
    prefix = collection.parent_id.lower().rstrip("/") + "/"
    want = collection.child_type.lower()
    return {ref.name.lower() for _, ref in step_refs if ref.type.lower() == want and ref.id.lower().startswith(prefix)}


def undeclared(collection: Children, listed: Sequence[Child], declared: set[str], locked: Sequence[str],
               subscription_id: str, resource_group: str, lock_ids: Mapping[str, str] | None = None) -> list[Change]:
    """Pure: one DELETE change per listed child that no step declares. `revoke` children are deleted by
    provision; `report` children, and any child under a management lock (production locks its data
    resources), are refused: left for a person. `lock_ids` (scope -> lock id) names the lock to lift."""
    out: list[Change] = []
    for child in sorted(listed, key=lambda c: c.name.lower()):
        if child.name.lower() in declared or collection.platform(child):
            continue
        ref = ResourceRef(subscription_id, resource_group, collection.type_of(child), child.name, scope=child.id)
        props = tuple(PropertyChange(path, value, None) for path, value in collection.shown(child).items())
        hold: Hold | None = None
        if collection.kind == "report":
            hold = Hold(HoldKind.FOR_A_PERSON, collection.why)
        elif scope := delete_blocked(child.id, locked):
            hold = child_hold(scope, (lock_ids or {}).get(scope.lower()))
        # What provision does with it is said once: by the hold when it does not remove it.
        reason = f"not declared by any env file ({collection.name}): {collection.why}" + (
            "; provision removes it" if hold is None else "")
        out.append(Change(f"{collection.name}/{child.name}", ref, Action.DELETE, props, reason,
                          hold=hold, collection=collection.name))
    return out
