"""The CI identities (ci/identities.toml) as the setup script docs/ci.md shows and as ARM requests: one source for
what a team creates and for what the workflow rehearsal grants in the local cloud."""

from __future__ import annotations

import json
import shlex
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CI_DIR = Path("ci")
# Microsoft's template "Constrain roles and principal types" (learn.microsoft.com/azure/role-based-access-control/
# delegate-role-assignments-examples): writes only of the listed roles to the listed principal types, deletes
# only of assignments of the listed roles.
_TEMPLATE = ("((!(ActionMatches{{'Microsoft.Authorization/roleAssignments/write'}})) OR "
             "(@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{roles}}}"
             " AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase"
             " {{{types}}})) AND ((!(ActionMatches{{'Microsoft.Authorization/roleAssignments/delete'}})) OR "
             "(@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{roles}}}"
             " AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase"
             " {{{types}}}))")


@dataclass(frozen=True)
class Grant:
    role: str
    why: str
    condition: str | None


@dataclass(frozen=True)
class Identity:
    key: str
    app: str
    variable: str
    purpose: str
    subjects: tuple[str, ...]
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class Spec:
    issuer: str
    audience: str
    identities: tuple[Identity, ...]
    custom_roles: dict[str, dict[str, Any]]
    builtin: dict[str, str]

    def identity(self, key: str) -> Identity:
        return next(i for i in self.identities if i.key == key)


def load(ci_dir: Path = CI_DIR) -> Spec:
    data = tomllib.loads((ci_dir / "identities.toml").read_text(encoding="utf-8"))
    builtin = {str(k): str(v) for k, v in data["builtin"].items()}
    identities = []
    for key, raw in data["identities"].items():
        grants = []
        for g in raw["grants"]:
            condition = None
            if g.get("only_roles"):
                roles = ", ".join(builtin[r] for r in g["only_roles"])
                types = ", ".join(f"'{t}'" for t in g.get("only_principal_types") or ["ServicePrincipal"])
                condition = _TEMPLATE.format(roles=roles, types=types)
            grants.append(Grant(g["role"], g.get("why", ""), condition))
        identities.append(Identity(key, raw["app"], raw["variable"], raw.get("purpose", ""),
                                   tuple(raw["subjects"]), tuple(grants)))
    return Spec(data["issuer"], data["audience"], tuple(identities), dict(data.get("roles") or {}), builtin)


def subject(repo: str, claim: str) -> str:
    """The `sub` GitHub puts in a job's OIDC token (docs.github.com/actions/reference/security/oidc):
    repo:ORG/REPO:environment:NAME for a job with an environment, :pull_request for a pull_request event,
    :ref:refs/heads/BRANCH otherwise."""
    return f"repo:{repo}:{claim}"


def custom_role_definition(spec: Spec, name: str, subscription: str) -> dict[str, Any]:
    """A custom role as `az role definition create --role-definition` takes it."""
    role = spec.custom_roles[name]
    return {"Name": name, "IsCustom": True, "Description": role["description"], "Actions": list(role["actions"]),
            "NotActions": list(role.get("not_actions") or []), "DataActions": [], "NotDataActions": [],
            "AssignableScopes": [f"/subscriptions/{subscription}"]}


def az_script(spec: Spec, subscription: str = "<subscription-id>", repo: str = "<org>/<repo>") -> str:
    """The commands a subscription Owner runs once (az and gh CLIs)."""
    q = shlex.quote
    lines = ["# Run once as an Owner of the subscription who may create app registrations in Entra ID.",
             f"SUBSCRIPTION={q(subscription)}", f"REPO={q(repo)}", 'SCOPE="/subscriptions/$SUBSCRIPTION"', ""]
    for name in spec.custom_roles:
        body = json.dumps(custom_role_definition(spec, name, "@@SUBSCRIPTION@@"))
        lines.append(f"az role definition create --role-definition {_quoted(body)}")
    for ident in spec.identities:
        app, sp = f"{ident.key}_app", f"{ident.key}_sp"
        lines += ["", f"# {ident.app} ({ident.variable}): {ident.purpose}",
                  f'{app}=$(az ad app create --display-name {ident.app} --query appId -o tsv)',
                  f'{sp}=$(az ad sp create --id "${app}" --query id -o tsv)']
        for claim in ident.subjects:
            cred = {"name": claim.replace(":", "-").replace("/", "-"), "issuer": spec.issuer,
                    "subject": f"repo:@@REPO@@:{claim}", "audiences": [spec.audience]}
            lines.append(f"az ad app federated-credential create --id \"${app}\" --parameters {_quoted(json.dumps(cred))}")
        for grant in ident.grants:
            line = (f'az role assignment create --assignee-object-id "${sp}" --assignee-principal-type ServicePrincipal '
                    f'--role {q(grant.role)} --scope "$SCOPE"')
            if grant.condition:
                line += f" --condition-version 2.0 --condition {q(grant.condition)}"
            lines.append(line)
        lines.append(f'gh variable set {ident.variable} --repo "$REPO" --body "${app}"')
    lines += ["", 'gh variable set AZURE_TENANT_ID --repo "$REPO" --body "$(az account show --query tenantId -o tsv)"',
              'gh variable set AZURE_SUBSCRIPTION_ID --repo "$REPO" --body "$SUBSCRIPTION"']
    # Their roles at the subscription are then expected: drift reports any other principal's (steps/owned_access.py).
    sps = ", ".join(f'\\"${i.key}_sp\\"' for i in spec.identities)
    lines += ["", "# Commit this section to envs/common.toml: these identities' roles at the subscription are expected.",
              f'printf \'%s\\n\' "[access]" "subscription_principals = [{sps}]"']
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """`text` as one shell word in which each @@NAME@@ becomes the value of $NAME."""
    parts = text.split("@@")
    return "".join(f'"${p}"' if i % 2 else shlex.quote(p) for i, p in enumerate(parts) if p or i % 2)


def role_guid(spec: Spec, name: str) -> str:
    """A built-in role's published GUID; a custom role's the setup gives it (az picks a random one; ARM calls here
    use one derived from the name, so a re-run finds the same role)."""
    return spec.builtin.get(name) or str(uuid.uuid5(uuid.NAMESPACE_URL, f"fundrbolt-provisioner/roles/{name}"))


def arm_requests(spec: Spec, subscription: str, principals: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """The ARM calls the az commands above make (role definitions, then assignments), for identities whose service
    principals already exist: `principals` maps an identity key to its object id."""
    scope = f"/subscriptions/{subscription}"
    out: list[tuple[str, str, dict[str, Any]]] = []
    for name in spec.custom_roles:
        az = custom_role_definition(spec, name, subscription)
        guid = role_guid(spec, name)
        out.append(("PUT", f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}", {"name": guid, "properties": {
            "roleName": name, "description": az["Description"], "type": "CustomRole", "assignableScopes": az["AssignableScopes"],
            "permissions": [{"actions": az["Actions"], "notActions": az["NotActions"], "dataActions": [], "notDataActions": []}]}}))
    for ident in spec.identities:
        for grant in ident.grants:
            props: dict[str, Any] = {
                "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid(spec, grant.role)}",
                "principalId": principals[ident.key], "principalType": "ServicePrincipal"}
            if grant.condition:
                props.update(condition=grant.condition, conditionVersion="2.0")
            assignment = uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}|{principals[ident.key]}|{grant.role}")
            out.append(("PUT", f"{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}", {"properties": props}))
    return out
