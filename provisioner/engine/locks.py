"""Management locks, decided purely: which scopes the environment's CanNotDelete locks protect, which deletes
they block, and the hold a person must lift. One place for the rule the reconciler and owned collections share."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from provisioner.core.model import Hold, HoldKind, ResourceRef

if TYPE_CHECKING:
    from provisioner.engine.step import Step

LOCK_TYPE = "microsoft.authorization/locks"
LOCKS = "/providers/microsoft.authorization/locks/"


def scope_of(lock_id: str) -> str:
    """The id a lock protects: a lock's id is <scope>/providers/Microsoft.Authorization/locks/<name>."""
    k = lock_id.lower().rfind(LOCKS)
    return lock_id[:k] if k >= 0 else lock_id


def lock_scopes(steps: Sequence[Step]) -> frozenset[str]:
    """The scopes the environment's lock steps protect, lower-cased (ARM ids compare case-insensitively):
    what every step's `locked_scopes` is set to."""
    return frozenset(scope_of(s.ref.id).lower() for s in steps
                     if s.type.lower() == LOCK_TYPE and LOCKS in s.ref.id.lower())


def declared_lock_scopes(step_refs: Iterable[tuple[str, ResourceRef]], observed_locks: Iterable[str] = ()) -> list[str]:
    """Scopes under a management lock for owned collections: the locks the env files declare (they stand once
    provision has run) and any lock found on our resources. ARM refuses a delete at or below a locked scope."""
    ids = [ref.id for _, ref in step_refs if ref.type.lower() == LOCK_TYPE]
    return sorted({scope_of(i) for i in (*ids, *observed_locks)})


def lock_ids(step_refs: Iterable[tuple[str, ResourceRef]], observed_locks: Iterable[str] = ()) -> dict[str, str]:
    """Scope (lower-cased) -> the id of a lock on it: what a person lifts (reports name it in the fix line)."""
    ids = [ref.id for _, ref in step_refs if ref.type.lower() == LOCK_TYPE]
    return {scope_of(i).lower(): i for i in sorted({*ids, *observed_locks})}


def delete_blocked(resource_id: str, locked: Iterable[str]) -> str | None:
    """The locked scope that makes ARM refuse deleting `resource_id` (409 ScopeLocked), or None. A CanNotDelete
    lock protects the resource, its children and extension resources such as role assignments scoped to it
    (learn.microsoft.com/azure/azure-resource-manager/management/lock-resources: "When you apply a lock at a
    parent scope, all child resources inherit the same lock"; MicrosoftDocs/azure-docs#110791 and
    hashicorp/terraform-provider-azurerm#11770 for role assignments), and deleting anything that contains it
    fails too. A lock on a sibling whose name merely starts the same is not ours."""
    rid = resource_id.lower().rstrip("/")
    for scope in sorted(locked):
        s = scope.lower().rstrip("/")
        if rid == s or rid.startswith(s + "/") or s.startswith(rid + "/"):
            return scope
    return None


def _name(scope: str) -> str:
    return scope.rstrip("/").rsplit("/", 1)[-1]


def resource_hold(resource_id: str, scope: str, lock: str | None = None) -> Hold:
    """A replace (delete first) of a resource under a lock: a person lifts the lock, or nothing happens."""
    return Hold(HoldKind.FOR_A_PERSON,
                f"deleting {resource_id} is refused while the CanNotDelete lock on {_name(scope)} stands "
                "(remove the lock, delete it, re-run provision to restore the lock)", lock)


def child_hold(scope: str, lock: str | None = None) -> Hold:
    """An undeclared child of an owned collection under a lock: reported, left for a person."""
    # The lock is there so that nothing under it is deleted by an ordinary run; lifting it is a person's
    # decision, and ARM would refuse the delete anyway (409 ScopeLocked).
    return Hold(HoldKind.FOR_A_PERSON,
                f"it is under the management lock on {_name(scope)}; lift the lock, remove it, re-apply the lock",
                lock)
