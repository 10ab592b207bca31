"""Owned collections, deciding (pure): what no step declares is a DELETE; data, locks and Azure's own are not."""

from __future__ import annotations

from provisioner.core.model import Action, ResourceRef
from provisioner.engine import children
from provisioner.engine.children import Child, Children
from provisioner.engine.locks import declared_lock_scopes

SERVER = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg"
RULES = "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules"


class Rules(Children):
    why = "grants access"

    def platform(self, child: Child) -> str | None:
        return "Azure's own" if child.name == "azure-managed" else None

    def shown(self, child: Child) -> dict:
        return {"properties.startIpAddress": child.body.get("start")}


class Databases(Rules):
    kind = "report"
    why = "holds data"


def _kids(*names: str) -> list[Child]:
    return [Child(f"{SERVER}/firewallRules/{n}", n, {"start": "0.0.0.0"}) for n in names]


def _refs(*names: str) -> list[tuple[str, ResourceRef]]:
    return [(f"step-{n}", ResourceRef("s", "rg", RULES, n, "flexibleServers/pg")) for n in names]


def test_undeclared_children_are_deletes_with_reasons():
    coll = Rules("pg/firewallRules", "postgres_server", SERVER, RULES)
    declared = children.declared_names(coll, _refs("AllowAzure"))
    assert declared == {"allowazure"}
    changes = children.undeclared(coll, _kids("ALLOWAZURE", "AllowAll", "azure-managed"), declared, [], "s", "rg")
    assert [(c.step, c.action, c.refused) for c in changes] == [("pg/firewallRules/AllowAll", Action.DELETE, None)]
    assert changes[0].collection == "pg/firewallRules" and "grants access" in changes[0].reason
    assert [(p.path, p.before, p.after) for p in changes[0].properties] == [("properties.startIpAddress", "0.0.0.0", None)]
    assert changes[0].ref.id == f"{SERVER}/firewallRules/AllowAll"


def test_declared_elsewhere_does_not_count():
    other = [("x", ResourceRef("s", "rg", RULES, "AllowAll", "flexibleServers/other-pg"))]
    coll = Rules("pg/firewallRules", "postgres_server", SERVER, RULES)
    assert children.declared_names(coll, other) == set()


def test_data_is_reported_and_a_lock_leaves_it_for_a_person():
    dbs = Databases("pg/databases", "postgres_server", SERVER, "Microsoft.DBforPostgreSQL/flexibleServers/databases")
    [report] = children.undeclared(dbs, _kids("scratch"), set(), [], "s", "rg")
    assert report.refused == "left for a person: holds data"
    locks = declared_lock_scopes([("lock:pg", ResourceRef("s", "rg", "Microsoft.Authorization/locks", "do-not-delete",
                                                       scope=f"{SERVER}/providers/Microsoft.Authorization/locks/x"))])
    assert locks == [SERVER]
    coll = Rules("pg/firewallRules", "postgres_server", SERVER, RULES)
    [locked] = children.undeclared(coll, _kids("AllowAll"), set(), locks, "s", "rg")
    assert locked.refused is not None and "under the management lock on pg" in locked.refused
    unlocked = children.undeclared(coll, _kids("AllowAll"), set(), [SERVER + "-other"], "s", "rg")
    assert unlocked[0].refused is None  # a lock on a sibling with a longer name is not ours
