"""The CI identities: docs/ci.md shows exactly the script generated from ci/identities.toml, the built-in roles it
names are Microsoft's (GUIDs checked against the published definitions), the delegation condition is one ARM
accepts and it admits only what it says, and the lock files cover pyproject.toml."""

from __future__ import annotations

import re
import tomllib

from provisioner.cli import ci_setup
from provisioner.localcloud import conditions, rbac
from tests.support import ROOT

SPEC = ci_setup.load(ROOT / "ci")
ATTR = "microsoft.authorization/roleassignments:"


def test_docs_show_exactly_the_generated_setup_script():
    text = (ROOT / "docs" / "ci.md").read_text()
    block = re.search(r"<!-- sample:ci-setup -->\n```bash\n(.*?)```\n<!-- /sample:ci-setup -->", text, re.S)
    assert block and block.group(1) == ci_setup.az_script(SPEC), "run python scripts/readme_samples.py"


def test_builtin_roles_are_named_by_their_published_guids():
    published = {d["roleName"]: guid for guid, d in rbac.builtins().items()}
    assert SPEC.builtin == {name: published[name] for name in SPEC.builtin}
    granted = {g.role for i in SPEC.identities for g in i.grants}
    assert granted <= set(SPEC.builtin) | set(SPEC.custom_roles)


def test_the_delegation_condition_admits_only_the_app_roles_for_service_principals():
    grant = next(g for g in SPEC.identity("deploy").grants if g.condition)
    check = conditions.check(grant.condition, "2.0")
    write, delete = "Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/delete"

    def asked(action: str, role: str, kind: str | None = "ServicePrincipal", where: str = "request") -> bool:
        attrs = {ATTR + "roledefinitionid": [SPEC.builtin[role]], **({ATTR + "principaltype": [kind]} if kind else {})}
        ctx = conditions.Context(action, attrs if where == "request" else {}, attrs if where == "resource" else {})
        return check(ctx)

    assert asked(write, "Key Vault Secrets User") and asked(write, "AcrPull")
    assert not asked(write, "Contributor") and not asked(write, "Role Based Access Control Administrator")
    assert not asked(write, "AcrPull", "User") and not asked(write, "AcrPull", None)
    assert asked(delete, "AcrPull", where="resource") and not asked(delete, "Contributor", where="resource")
    assert check(conditions.Context("Microsoft.Web/sites/write")), "other actions are not constrained"


def test_the_plan_role_reads_and_writes_nothing():
    role = SPEC.custom_roles["Fundrbolt Plan Reader"]
    definition = {"permissions": [{"actions": role["actions"], "notActions": []}]}
    writes = ["Microsoft.Web/sites/write", "Microsoft.Authorization/roleAssignments/write",
              "Microsoft.KeyVault/vaults/secrets/write", "Microsoft.Resources/subscriptions/resourceGroups/delete",
              "Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Web/staticSites/listSecrets/action"]
    assert rbac.effective_actions([definition], writes) == []
    assert [a for a in role["actions"] if not a.endswith("/read")] == [
        "Microsoft.Web/sites/config/list/action", "Microsoft.Web/sites/slots/config/list/action",
        "Microsoft.Cache/redisEnterprise/databases/listKeys/action", "Microsoft.Web/checknameavailability/action"]


def test_the_lock_files_pin_every_dependency_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def pinned(lock: str) -> set[str]:
        text = (ROOT / lock).read_text()
        assert "--find-links" not in text and "--index-url" not in text
        names = {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.\-]+)==", text, re.M)}
        blocks = re.findall(r"^[A-Za-z0-9_.\-]+==\S+ \\\n((?:\s+--hash=sha256:\w+(?: \\)?\n)+)", text, re.M)
        assert len(blocks) == len(names), f"{lock}: every pin carries its hashes"
        return names

    def names(reqs: list[str]) -> set[str]:
        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in reqs}

    runtime = pinned("requirements.lock")
    assert names(project["dependencies"]) | {"setuptools", "wheel"} <= runtime, "run scripts/lock.sh"
    assert names(project["dependencies"] + project["optional-dependencies"]["dev"]) <= pinned("requirements-dev.lock")
