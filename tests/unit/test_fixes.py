"""One "what to do" line per change (provisioner/cli/fixes.py), the order and labels of the reports, and no
entry that says both that provision removes it and that it is left for a person."""

from __future__ import annotations

import json

from provisioner.cli import render
from provisioner.cli.fixes import fix, lift_lock
from provisioner.core.model import Action, Change, Hold, HoldKind, Plan, PropertyChange, ResourceRef
from provisioner.engine.children import Child, Children, undeclared
from provisioner.engine.locks import lock_ids

SUB, RG = "00000000-0000-0000-0000-000000000000", "fundrbolt-production-rg"
PG = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.DBforPostgreSQL/flexibleServers/fundrbolt-production-pg"
LOCK = f"{PG}/providers/Microsoft.Authorization/locks/do-not-delete"


class Rules(Children):
    why = "a firewall rule admits addresses to the database server"

    def shown(self, child: Child) -> dict:
        return {"properties.startIpAddress": child.body["properties"]["startIpAddress"]}


def world_open(locked: bool) -> Change:
    collection = Rules("postgres_server/firewallRules", "postgres_server", PG,
                       "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules")
    child = Child(f"{PG}/firewallRules/AllowAll", "AllowAll", {"properties": {"startIpAddress": "0.0.0.0"}})
    lock_ref = ResourceRef(SUB, RG, "Microsoft.Authorization/locks", "do-not-delete", scope=LOCK)
    ids = lock_ids([("lock:postgres_server", lock_ref)])
    [change] = undeclared(collection, [child], set(), [PG] if locked else [], SUB, RG, ids)
    return change


def test_the_lock_to_lift_is_named_with_the_exact_az_command():
    assert lift_lock(LOCK) == ("az lock delete --name do-not-delete --resource-group fundrbolt-production-rg "
                               "--resource-type Microsoft.DBforPostgreSQL/flexibleServers "
                               "--resource fundrbolt-production-pg")
    group_lock = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Authorization/locks/rg-lock"
    assert lift_lock(group_lock) == f"az lock delete --name rg-lock --resource-group {RG}"
    nested = f"{PG}/databases/app/providers/Microsoft.Authorization/locks/x"
    assert lift_lock(nested) == f"az lock delete --ids {nested}"


def test_a_rule_under_a_lock_says_once_that_it_is_left_and_how_to_fix_it():
    held = world_open(locked=True)
    assert held.hold is not None and held.hold.lock == LOCK
    assert "provision removes it" not in held.reason  # never both "removes it" and "left for a person"
    line = fix(held, "production", drift=True)
    assert line.startswith(lift_lock(LOCK) + " && az resource delete --ids " + held.ref.id)
    assert "provisioner provision --env production" in line and "re-applies the lock" in line
    free = world_open(locked=False)
    assert free.hold is None and free.reason.endswith("; provision removes it")
    assert fix(free, "dev").startswith("provisioner provision --env dev  (removes it")


def test_other_holds_say_what_a_person_does():
    ref = ResourceRef(SUB, RG, "Microsoft.DBforPostgreSQL/flexibleServers/databases", "scratch", scope=f"{PG}/databases/scratch")
    data = Change("postgres_server/databases/scratch", ref, Action.DELETE,
                  hold=Hold(HoldKind.FOR_A_PERSON, "a database holds data"), collection="postgres_server/databases")
    assert "declaring it in the env files" in fix(data, "dev") and "deletes its data" in fix(data, "dev")
    replace = Change("app_service_plan", ResourceRef(SUB, RG, "Microsoft.Web/serverfarms", "p"), Action.REPLACE,
                     hold=Hold(HoldKind.REFUSED, "an immutable property changed; pass --allow-replace to delete it"))
    assert fix(replace, "dev") == "provisioner provision --env dev --allow-replace  (deletes and re-creates it)"
    waiting = Change("dns_delegation:dev", ResourceRef(SUB, RG, "Microsoft.Network/dnsZones/NS", "dev"), Action.CREATE,
                     hold=Hold(HoldKind.WAITING, "production has not run yet"))
    assert fix(waiting, "dev") == "wait: production has not run yet"
    missing = Change("redis", ResourceRef(SUB, RG, "Microsoft.Cache/redis", "r"), Action.CREATE)
    assert fix(missing, "dev", drift=True) == "provisioner provision --env dev  (re-creates it)"


def _drifted() -> Plan:
    tags = Change("storage_account", ResourceRef(SUB, RG, "Microsoft.Storage/storageAccounts", "st"), Action.UPDATE,
                  (PropertyChange("tags.temp", "bob", None),), "differs")
    tls = Change("web_app_config", ResourceRef(SUB, RG, "Microsoft.Web/sites/config", "web"), Action.UPDATE,
                 (PropertyChange("properties.minTlsVersion", "1.0", "1.2"),), "differs")
    return Plan("production", (tags, tls, world_open(locked=True)))


def test_drift_lists_the_open_database_first_with_labels_and_a_fix_line_per_entry():
    text = render.drift_text(_drifted())
    assert "property: live value -> desired value" in text
    entries = [line.strip() for line in text.splitlines() if line.startswith("    ") and "  (" in line
               and line.strip()[:1] in "~-+"]
    assert [e.split()[1] for e in entries] == ["postgres_server/firewallRules/AllowAll", "web_app_config",
                                               "storage_account"]
    assert text.index("[access and exposure]") < text.index("AllowAll") < text.index("[other]")
    assert text.count("      fix: ") == 3
    assert "left for a person" in text and "provision removes it" not in text
    md = render.drift_markdown(_drifted())
    assert "| property | live | desired (env files) |" in md and md.count("**Fix:**") == 3
    assert md.index("AllowAll") < md.index("web_app_config") < md.index("storage_account")


def test_json_keeps_its_keys_and_adds_severity_and_fix():
    doc = json.loads(render.drift_json(_drifted()))
    first = doc["changes"][0]
    assert first["step"] == "postgres_server/firewallRules/AllowAll"
    assert {"step", "id", "type", "action", "reason", "properties", "ignored", "refused", "collection"} <= set(first)
    assert first["severity"] == "access" and first["fix"].startswith("az lock delete --name do-not-delete")
    assert [c["severity"] for c in doc["changes"]] == ["access", "access", "other"]


def test_the_last_line_of_a_run_names_what_was_left_for_a_person():
    from provisioner.core.model import Outcome, Status

    held = world_open(locked=True)
    text = render.outcomes_text([Outcome(held, Status.LEFT_FOR_A_PERSON, held.refused)], 1.0, "production")
    last = text.strip().splitlines()[-1]
    assert last.startswith("LEFT FOR A PERSON: 1 change(s), most urgent: access and exposure")
    assert "postgres_server/firewallRules/AllowAll" in last
