"""One "what to do" line per change in a report: the command to run, or the lock to lift with the exact az
command, then what provision does after it. Pure: built from the change, its hold and the environment name.

The az commands follow the Azure CLI's own help (`az lock delete --name --resource-group --resource-type
--resource`, as in azure-cli's `az lock list --resource myvnet --resource-type Microsoft.Network/virtualNetworks
-g group` and MicrosoftDocs' `az lock delete --resource-group ... --name ... --resource ... --resource-type`).
"""

from __future__ import annotations

import re

from provisioner.core.model import Action, Change, HoldKind
from provisioner.engine.severity import holds_data

_LOCKS = "/providers/microsoft.authorization/locks/"
# /subscriptions/S/resourceGroups/RG[/providers/NS/TYPE/NAME]: a group or a top-level resource.
_SCOPE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/(?P<rg>[^/]+)"
                    r"(?:/providers/(?P<ns>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+))?/?$", re.IGNORECASE)


def lift_lock(lock_id: str) -> str:
    """The az command that removes one management lock, by name where its scope allows, by id otherwise."""
    k = lock_id.lower().rfind(_LOCKS)
    if k < 0:
        return f"az lock delete --ids {lock_id}"
    scope, name = lock_id[:k], lock_id[k + len(_LOCKS):]
    m = _SCOPE.match(scope)
    if m is None:
        return f"az lock delete --ids {lock_id}"
    if m["ns"] is None:
        return f"az lock delete --name {name} --resource-group {m['rg']}"
    return (f"az lock delete --name {name} --resource-group {m['rg']} --resource-type {m['ns']}/{m['type']} "
            f"--resource {m['name']}")


def delete_by_hand(change: Change) -> str:
    rid, last = change.ref.id, change.ref.type.rsplit("/", 1)[-1].lower()
    if last == "roleassignments":
        return f"az role assignment delete --ids {rid}"
    if last == "locks":
        return f"az lock delete --ids {rid}"
    return f"az resource delete --ids {rid}"


def _data_warning(change: Change) -> str:
    return " (this deletes its data: back it up first)" if holds_data(change.ref.type) else ""


def fix(change: Change, env: str, drift: bool = False) -> str:
    """What a person does about `change`: one line, commands joined with && where there are several."""
    provision = f"provisioner provision --env {env}"
    hold = change.hold
    if hold is not None and hold.kind is HoldKind.WAITING:
        return f"wait: {hold.why}"
    if hold is not None and hold.kind is HoldKind.FOR_A_PERSON:
        if hold.lock:
            # Provision counts the env files' locks as standing, so it would hold the change again: the person
            # deletes it by hand while the lock is lifted, then provision re-applies the lock.
            notes = ["re-creates it and re-applies the lock" if change.action is Action.REPLACE
                     else "re-applies the lock"]
            if holds_data(change.ref.type):
                notes.append("deleting it deletes its data: back it up first")
            return f"{lift_lock(hold.lock)} && {delete_by_hand(change)} && {provision}  ({'; '.join(notes)})"
        if change.collection:
            return (f"a person decides: keep it by declaring it in the env files, or delete it: "
                    f"{delete_by_hand(change)}{_data_warning(change)}")
        return f"a person decides: {hold.why}"
    if hold is not None:  # refused without a flag
        if "--allow-replace" in hold.why:
            return f"{provision} --allow-replace  (deletes and re-creates it)"
        if "--allow-credential-reset" in hold.why and "managed identity" in hold.why:
            return (f"{provision} --allow-credential-reset  (once the running version signs in with a token: "
                    "docs/operations.md \"The app's database sign-in\"), or keep [postgres] app_sign_in = \"password\"")
        if "--allow-credential-reset" in hold.why:
            return (f"{provision} --allow-credential-reset  (then restart the app at once), or switch the app to "
                    "[postgres] app_sign_in = \"entra\"")
        return ("provision will not do it (" + hold.why + "): set the env files back to the live value, "
                "or change the resource by hand")
    if change.action is Action.CREATE:
        return f"{provision}  ({'re-creates' if drift else 'creates'} it)"
    if change.action is Action.DELETE:
        return f"{provision}  (removes it; to keep it, declare it in the env files)"
    if change.action is Action.REPLACE:
        return f"{provision} --allow-replace  (deletes and re-creates it)"
    return f"{provision}  (sets the declared values; to keep the live ones, declare them in the env files)"
