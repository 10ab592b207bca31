"""Management locks: which writes and deletes a CanNotDelete or ReadOnly lock blocks (409 ScopeLocked)."""

from __future__ import annotations

from .errors import ArmError
from .ids import is_under, split_extension
from .store import Store

LOCK_TYPE = "microsoft.authorization/locks"


def _locks(store: Store) -> list[tuple[str, str]]:
    """(scope, level) of every lock in the store."""
    out = []
    for rid, body in store.items():
        low = rid.lower()
        k = low.rfind("/providers/microsoft.authorization/locks/")
        if k < 0 or "/" in low[k + len("/providers/microsoft.authorization/locks/"):]:
            continue
        level = str((body.get("properties") or {}).get("level", ""))
        out.append((split_extension(rid)[0], level))
    return out


def check(store: Store, target: str, operation: str, type_name: str) -> None:
    """Raise 409 ScopeLocked as ARM does.

    delete: any lock on the target, an ancestor scope, or anything below the target (deleting a
    group that holds a locked resource fails). write/action: a ReadOnly lock on the target or above.
    Locks are inherited by children and by extension resources at the scope: a CanNotDelete lock refuses
    deleting a role assignment scoped to the locked resource (or below it) while a new assignment may still
    be added (learn.microsoft.com/azure/azure-resource-manager/management/lock-resources;
    MicrosoftDocs/azure-docs#110791; hashicorp/terraform-provider-azurerm#11770, hashicorp/terraform#15111
    show Azure's 409 ScopeLocked for such a delete). Locks themselves stay manageable, as for an Owner.
    """
    if type_name.lower().startswith("microsoft.authorization/locks"):
        return
    for scope, level in _locks(store):
        if operation == "delete":
            hit = is_under(target, scope) or is_under(scope, target)
        else:
            hit = level.lower() == "readonly" and is_under(target, scope)
        if hit:
            verb = {"delete": "delete", "write": "write", "action": "action"}[operation]
            raise ArmError(
                409,
                "ScopeLocked",
                f"The scope '{target}' cannot perform {verb} operation because following scope(s) are "
                f"locked: '{scope}'. Please remove the lock and try again.",
            )
