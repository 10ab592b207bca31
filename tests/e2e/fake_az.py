"""`az` and `gh` as docs/ci.md's setup script calls them, carried out against a local cloud (ARM and its Entra ID
stand-in) and a variables file, so the rehearsal runs the documented script itself rather than a copy of it.

Each command maps to the API the real CLI calls: `az ad app create` / `az ad sp create` /
`az ad app federated-credential create` to an app registration in the directory; `az role definition create` to
PUT {scope}/providers/Microsoft.Authorization/roleDefinitions/{new guid} (scope: the first assignable scope, as
custom-roles-rest.md says); `az role assignment create` to PUT .../roleAssignments/{new guid} after looking the
role up by name ($filter=roleName eq '...'); `gh variable set` to the repository's variables. Calls are made as the
subscription's administrator (a plain token: localcloud/rbac.py Principal). Unknown commands fail loudly.

Environment: LOCALCLOUD_URL, LOCALCLOUD_TENANT, GH_VARIABLES_FILE.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.parse
import urllib.request
import uuid
from typing import Any

ADMIN = "owner@fundrbolt.app"
API = "api-version=2022-04-01"


def call(method: str, path: str, body: Any = None) -> Any:
    url = os.environ["LOCALCLOUD_URL"] + path
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        sys.exit(f"ERROR: ({exc.code}) {exc.read().decode(errors='replace')}")


def options(args: list[str]) -> dict[str, str]:
    out, i = {}, 0
    while i < len(args):
        if args[i].startswith("--"):
            out[args[i][2:]] = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else "true"
            i += 2 if out[args[i][2:]] != "true" else 1
        else:
            i += 1
    return out


def app(app_id: str) -> dict[str, Any]:
    found = [a for a in call("GET", "/_localcloud/directory/applications") if a["appId"] == app_id.lower()]
    if not found:
        sys.exit(f"ERROR: application {app_id} not found")
    return found[0]


def az(args: list[str]) -> str:
    words = [a for a in args if not a.startswith("-")][:4]
    opt = options(args)
    if words[:3] == ["ad", "app", "create"]:
        entry = call("POST", "/_localcloud/directory/applications",
                     {"appId": str(uuid.uuid4()), "displayName": opt["display-name"], "objectId": str(uuid.uuid4())})
        return entry["appId"]
    if words[:3] == ["ad", "sp", "create"]:
        return app(opt["id"])["objectId"]  # the service principal: its object id is what roles are assigned to
    if words[:4] == ["ad", "app", "federated-credential", "create"]:
        entry = app(opt["id"])
        entry["federatedCredentials"].append(json.loads(opt["parameters"]))
        call("POST", "/_localcloud/directory/applications", entry)
        return ""
    if words[:3] == ["role", "definition", "create"]:
        az_role = json.loads(opt["role-definition"])
        guid = str(uuid.uuid4())
        scope = az_role["AssignableScopes"][0]
        call("PUT", f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}?{API}", {"name": guid, "properties": {
            "roleName": az_role["Name"], "description": az_role.get("Description", ""), "type": "CustomRole",
            "assignableScopes": az_role["AssignableScopes"],
            "permissions": [{"actions": az_role.get("Actions", []), "notActions": az_role.get("NotActions", []),
                             "dataActions": az_role.get("DataActions", []),
                             "notDataActions": az_role.get("NotDataActions", [])}]}})
        return ""
    if words[:3] == ["role", "assignment", "create"]:
        scope = opt["scope"]
        flt = urllib.parse.quote(f"roleName eq '{opt['role']}'")
        roles = call("GET", f"{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter={flt}&{API}")["value"]
        if len(roles) != 1:
            sys.exit(f"ERROR: Role '{opt['role']}' doesn't exist.")
        props = {"roleDefinitionId": roles[0]["id"], "principalId": opt["assignee-object-id"],
                 "principalType": opt.get("assignee-principal-type")}
        if "condition" in opt:
            props.update(condition=opt["condition"], conditionVersion=opt.get("condition-version"))
        call("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?{API}",
             {"properties": props})
        return ""
    if words[:2] == ["account", "show"] and opt.get("query") == "tenantId":
        return os.environ["LOCALCLOUD_TENANT"]
    sys.exit(f"ERROR: the rehearsal's az does not know: az {' '.join(args)}")


def gh(args: list[str]) -> str:
    if args[:2] != ["variable", "set"]:
        sys.exit(f"the rehearsal's gh does not know: gh {' '.join(args)}")
    path = os.environ["GH_VARIABLES_FILE"]
    with open(path) if os.path.exists(path) else open(os.devnull) as f:
        variables = json.loads(f.read() or "{}")
    variables[args[2]] = options(args)["body"]
    with open(path, "w") as f:
        json.dump(variables, f)
    return ""


if __name__ == "__main__":
    tool, rest = os.path.basename(sys.argv[1]), sys.argv[2:]
    out = az(rest) if tool == "az" else gh(rest)
    if out:
        print(out)
