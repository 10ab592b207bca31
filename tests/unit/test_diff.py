"""The differ: left-scoped, normalized, tags owned whole, sensitive values redacted."""

from provisioner.core.model import AZURE_MANAGED, NOT_MANAGED, READ_ONLY, SENSITIVE, UNDECLARED, UNKNOWN
from provisioner.engine.carry import carry_owned
from provisioner.engine.diff import Rules, as_str, diff, location, lower


def test_identical_is_empty():
    body = {"location": "eastus", "properties": {"a": 1}}
    assert diff(body, body).empty


def test_server_populated_fields_are_ignored_and_counted():
    desired = {"properties": {"httpsOnly": True}}
    observed = {"id": "/x", "name": "n", "type": "t", "properties": {"httpsOnly": True, "state": "Running",
                                                                     "provisioningState": "Succeeded", "hostNames": ["a"]}}
    result = diff(desired, observed, Rules(read_only=("properties.state", "properties.hostNames")))
    assert result.empty
    paths = {i.path for i in result.ignored}
    assert {"id", "name", "type", "properties.state", "properties.hostNames", "properties.provisioningState"} <= paths
    assert all(i.rule == "server-populated" and i.kind == READ_ONLY for i in result.ignored)


def test_a_field_neither_declared_read_only_nor_not_managed_is_counted_apart():
    result = diff({"properties": {"a": 1}}, {"properties": {"a": 1, "b": 2}})
    assert result.empty
    [ignored] = result.ignored
    assert (ignored.path, ignored.kind) == ("properties.b", UNDECLARED)


def test_changed_leaf_reports_path_before_after():
    result = diff({"properties": {"siteConfig": {"minTlsVersion": "1.2"}}},
                  {"properties": {"siteConfig": {"minTlsVersion": "1.0"}}})
    [change] = result.changes
    assert (change.path, change.before, change.after) == ("properties.siteConfig.minTlsVersion", "1.0", "1.2")


def test_missing_leaf_is_a_change():
    [change] = diff({"properties": {"x": 1}}, {"properties": {}}).changes
    assert change.before is None and change.after == 1


def test_location_normalizer():
    rules = Rules(normalizers=(("location", location),))
    assert diff({"location": "East US"}, {"location": "eastus"}, rules).empty
    assert not diff({"location": "East US"}, {"location": "westus"}, rules).empty


def test_arm_ids_and_durations_compare_case_insensitively_by_default():
    desired = {"properties": {"serverFarmId": "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Web/serverfarms/p",
                              "windowSize": "Pt5m"}}
    observed = {"properties": {"serverFarmId": "/subscriptions/s/resourcegroups/rg/providers/microsoft.web/serverfarms/p",
                               "windowSize": "PT5M"}}
    assert diff(desired, observed).empty


def test_plain_strings_stay_case_sensitive():
    assert diff({"properties": {"x": "Abc"}}, {"properties": {"x": "abc"}}).changes != []


def test_enum_normalizer_and_as_str():
    rules = Rules(normalizers=(("sku.name", lower), ("properties.capacity", as_str)))
    assert diff({"sku": {"name": "Standard_LRS"}, "properties": {"capacity": 2}},
                {"sku": {"name": "standard_lrs"}, "properties": {"capacity": "2"}}, rules).empty


def test_tags_are_owned_whole_extra_tag_is_drift():
    [change] = diff({"tags": {"A": "1"}}, {"tags": {"A": "1", "Manual": "x"}}).changes
    assert (change.path, change.before, change.after) == ("tags.Manual", "x", None)


def test_tag_keys_are_case_insensitive_values_are_not():
    assert diff({"tags": {"VNetServer": "1"}}, {"tags": {"VnetServer": "1"}}).empty
    assert not diff({"tags": {"A": "x"}}, {"tags": {"A": "X"}}).empty


def test_azure_managed_tags_are_ignored_with_reason():
    rules = Rules(managed_keys=(("hidden-link:*", "azure-managed tag"),))
    result = diff({"tags": {"A": "1"}}, {"tags": {"A": "1", "hidden-link:/subscriptions/x": "Resource"}}, rules)
    assert result.empty
    assert any(i.rule == "azure-managed tag" for i in result.ignored)


def test_removed_managed_tag_is_drift():
    [change] = diff({"tags": {"A": "1", "B": "2"}}, {"tags": {"A": "1"}}).changes
    assert change.path == "tags.B" and change.before is None


def test_lists_of_objects_are_left_scoped_per_element():
    desired = {"properties": {"emailReceivers": [{"name": "ops", "emailAddress": "ops@x"}]}}
    observed = {"properties": {"emailReceivers": [{"name": "ops", "emailAddress": "ops@x", "status": "Enabled"}]}}
    result = diff(desired, observed, Rules(read_only=("properties.emailReceivers[].status",)))
    assert result.empty
    assert [(i.path, i.kind) for i in result.ignored if "status" in i.path] == [
        ("properties.emailReceivers[ops].status", READ_ONLY)]


def test_ordered_lists_differ_by_order_unless_declared_sets():
    desired = {"properties": {"ips": ["1", "2"]}}
    observed = {"properties": {"ips": ["2", "1"]}}
    assert not diff(desired, observed).empty
    assert diff(desired, observed, Rules(sets=("properties.ips",))).empty
    assert not diff(desired, {"properties": {"ips": ["2", "1", "3"]}}, Rules(sets=("properties.ips",))).empty


def test_ignore_rule_reports_its_reason():
    rules = Rules(ignore=(("properties.secret*", "never returned"),))
    result = diff({"properties": {"secretValue": "x"}}, {"properties": {}}, rules)
    assert result.empty and result.ignored[0].rule == "never returned"


def test_write_only_set_on_create_never_compared_after():
    rules = Rules(write_only=("properties.administratorLoginPassword",))
    result = diff({"properties": {"administratorLoginPassword": "hunter2"}}, {"properties": {}}, rules)
    assert result.empty and result.ignored[0].rule == "write-only"


def test_sensitive_values_are_redacted_in_changes():
    rules = Rules(sensitive=("properties.token",))
    [change] = diff({"properties": {"token": "new-secret"}}, {"properties": {"token": "old-secret"}}, rules).changes
    assert change.before == SENSITIVE and change.after == SENSITIVE and change.sensitive
    assert "secret" not in repr(change).replace("sensitive", "")


def test_replace_on_marks_immutable_changes():
    [change] = diff({"kind": "StorageV2"}, {"kind": "BlobStorage"}, Rules(replace_on=("kind",))).changes
    assert change.requires_replace


def test_unknown_values_show_as_known_after_apply():
    [change] = diff({"properties": {"ips": UNKNOWN}}, {"properties": {"ips": ["1"]}}).changes
    assert change.after is UNKNOWN


def test_none_in_desired_means_unmanaged():
    assert diff({"properties": {"x": None}}, {"properties": {"x": 5}}).empty


# --- issue 9: list elements, not-managed fields, Azure-managed tags ---------------------------------------


def _profiles(threshold: int, extra_rule: bool = False) -> dict:
    rules = [{"metricTrigger": {"threshold": threshold, "operator": "GreaterThan"}, "scaleAction": {"value": "1"}},
             {"metricTrigger": {"threshold": 30, "operator": "LessThan"}, "scaleAction": {"value": "1"}}]
    if extra_rule:
        rules.append({"metricTrigger": {"threshold": 99, "operator": "GreaterThan"}, "scaleAction": {"value": "5"}})
    return {"properties": {"profiles": [{"name": "cpu", "capacity": {"minimum": "2"}, "rules": rules}]}}


def test_list_change_names_the_element_and_the_leaf():
    [change] = diff(_profiles(70), _profiles(90)).changes
    assert (change.path, change.before, change.after) == ("properties.profiles[cpu].rules[0].metricTrigger.threshold", 90, 70)


def test_added_and_removed_elements_are_shown_whole():
    [added] = diff(_profiles(70, extra_rule=True), _profiles(70)).changes
    assert added.path == "properties.profiles[cpu].rules[2]" and added.before is None
    assert added.after["scaleAction"] == {"value": "5"}
    [removed] = diff(_profiles(70), _profiles(70, extra_rule=True)).changes
    assert removed.path == "properties.profiles[cpu].rules[2]" and removed.after is None


def test_keyed_elements_match_by_name_whatever_the_order():
    desired = {"properties": {"rules": [{"name": "a", "ip": "1"}, {"name": "b", "ip": "2"}]}}
    observed = {"properties": {"rules": [{"name": "b", "ip": "2"}, {"name": "a", "ip": "1"}, {"name": "x", "ip": "0.0.0.0"}]}}
    [change] = diff(desired, observed).changes
    assert (change.path, change.before, change.after) == ("properties.rules[x]", {"name": "x", "ip": "0.0.0.0"}, None)
    desired["properties"]["rules"].append({"name": "new", "ip": "3"})
    changes = {c.path: (c.before, c.after) for c in diff(desired, observed).changes}
    assert changes["properties.rules[new]"] == (None, {"name": "new", "ip": "3"})


def test_key_added_inside_a_declared_element_is_drift():
    rule = {"name": "archive", "definition": {"actions": {"baseBlob": {"tierToArchive": {"days": 90}}}}}
    observed_rule = {"name": "archive", "definition": {"actions": {"baseBlob": {"tierToArchive": {"days": 90},
                                                                                  "delete": {"days": 1}}}}}
    [change] = diff({"properties": {"rules": [rule]}}, {"properties": {"rules": [observed_rule]}}).changes
    assert change.path == "properties.rules[archive].definition.actions.baseBlob.delete"
    assert (change.before, change.after) == ({"days": 1}, None)


def test_read_only_keys_inside_elements_are_counted_not_drift():
    rules = Rules(read_only=("properties.rules[].lastRun",))
    result = diff({"properties": {"rules": [{"name": "a"}]}}, {"properties": {"rules": [{"name": "a", "lastRun": "x"}]}}, rules)
    assert result.empty and [(i.path, i.kind) for i in result.ignored] == [("properties.rules[a].lastRun", READ_ONLY)]


def test_sets_of_objects_without_a_key_still_ignore_order_and_show_the_changed_element():
    rules = Rules(sets=("properties.logs",))
    desired = {"properties": {"logs": [{"category": "A", "enabled": True}, {"category": "B", "enabled": True}]}}
    observed = {"properties": {"logs": [{"category": "B", "enabled": True}, {"category": "A", "enabled": True}]}}
    assert diff(desired, observed, rules).empty
    observed["properties"]["logs"][0]["enabled"] = False
    [change] = diff(desired, observed, rules).changes
    assert (change.path, change.before, change.after) == ("properties.logs[1].enabled", False, True)


def test_set_rules_apply_to_keyed_lists_with_the_normalized_key():
    rules = Rules(sets=("rules",), normalizers=(("rules[].name", lambda v: v.rsplit("/", 1)[-1]),))
    desired = {"rules": [{"name": "r1", "properties": {"startIP": "1"}}]}
    observed = {"rules": [{"name": "cache/r1", "properties": {"startIP": "2"}}]}
    [change] = diff(desired, observed, rules).changes
    assert change.path == "rules[r1].properties.startIP"


def test_not_managed_fields_are_counted_with_their_reason():
    rules = Rules(not_managed=(("sku.capacity", "owned by autoscale"), ("properties.siteConfig", "owned by web_app_config")))
    result = diff({"sku": {"name": "S1", "capacity": 2}}, {"sku": {"name": "S1", "capacity": 4},
                                                         "properties": {"siteConfig": {"a": 1, "b": {"c": 2}}}}, rules)
    assert result.empty
    kinds = {(i.path, i.kind, i.rule) for i in result.ignored}
    assert ("sku.capacity", NOT_MANAGED, "owned by autoscale") in kinds
    assert ("properties.siteConfig.b.c", NOT_MANAGED, "owned by web_app_config") in kinds


def test_azure_managed_tags_are_one_rule_for_every_step():
    observed = {"tags": {"A": "1", "hidden-link:/subscriptions/x/components/ai": "Resource", "$type": "Microsoft.X"}}
    result = diff({"tags": {"A": "1"}}, observed)  # no step-specific rule needed
    assert result.empty
    assert sorted(i.kind for i in result.ignored) == [AZURE_MANAGED, AZURE_MANAGED]
    [change] = diff({"tags": {"A": "1"}}, {"tags": {**observed["tags"], "hidden": "x"}}).changes
    assert change.path == "tags.hidden"


def test_update_body_carries_observed_not_managed_values_and_azure_tags():
    rules = Rules(not_managed=(("sku.capacity", "owned by autoscale"),))
    desired = {"tags": {"A": "1"}, "sku": {"name": "S1", "capacity": 2}}
    observed = {"tags": {"A": "1", "manual": "x", "hidden-link:/y": "Resource"}, "sku": {"name": "S1", "capacity": 4}}
    body = carry_owned(desired, observed, rules)
    assert body["sku"] == {"name": "S1", "capacity": 4}
    assert body["tags"] == {"A": "1", "hidden-link:/y": "Resource"}  # the hand-added tag is still removed
    assert desired["sku"]["capacity"] == 2  # the desired body itself is untouched
    assert carry_owned(desired, None, rules) == desired


def test_a_declared_read_only_field_is_compared_and_its_undeclared_keys_are_not_server_populated():
    rules = Rules(read_only=("properties.networkAcls",))
    desired = {"properties": {"networkAcls": {"defaultAction": "Allow"}}}
    observed = {"properties": {"networkAcls": {"defaultAction": "Deny", "ipRules": [{"value": "1.2.3.4"}]}}}
    result = diff(desired, observed, rules)
    assert [c.path for c in result.changes] == ["properties.networkAcls.defaultAction"]
    assert [(i.path, i.kind) for i in result.ignored] == [("properties.networkAcls.ipRules", UNDECLARED)]


def test_every_field_marked_owned_by_carries_the_observed_value_whatever_rule_marks_it():
    rules = Rules(ignore=(("properties.linuxFxVersion", "owned by deployments"),))
    desired = {"properties": {"linuxFxVersion": "DOCKER|api:1", "minTlsVersion": "1.2"}}
    observed = {"properties": {"linuxFxVersion": "DOCKER|api:7", "minTlsVersion": "1.0"}}
    assert carry_owned(desired, observed, rules)["properties"] == {"linuxFxVersion": "DOCKER|api:7", "minTlsVersion": "1.2"}


def test_an_undeclared_default_echoed_inside_an_element_is_counted_not_drift():
    desired = {"properties": {"rules": [{"name": "a", "threshold": 1}]}}
    observed = {"properties": {"rules": [{"name": "a", "threshold": 1, "skipMetricValidation": False,
                                          "dimensions": [], "location": None}]}}
    result = diff(desired, observed)
    assert result.empty
    assert sorted(i.path for i in result.ignored if i.kind == UNDECLARED) == [
        "properties.rules[a].dimensions", "properties.rules[a].location", "properties.rules[a].skipMetricValidation"]


def test_keys_others_own_inside_a_dict_owned_whole_are_not_drift_and_are_kept_on_repair():
    """A deploy's marker setting and rollback tags (provisioner/core/contract.py) live inside sets the steps
    own whole: a hand-added key is drift and removed; theirs are neither."""
    rules = Rules(exact=("tags", "properties"), managed_keys=(("deploy-*", "owned by deployments"),
                                                                ("DEPLOY_MARKER", "owned by deployments")))
    desired = {"tags": {"A": "1"}, "properties": {"LOG_LEVEL": "info"}}
    observed = {"tags": {"A": "1", "deploy-previous": "r/api:1", "temp": "bob"},
                "properties": {"LOG_LEVEL": "info", "DEPLOY_MARKER": "r/api:2", "BY_HAND": "x"}}
    result = diff(desired, observed, rules)
    assert sorted(c.path for c in result.changes) == ["properties.BY_HAND", "tags.temp"]
    assert {(i.path, i.kind) for i in result.ignored} >= {("tags.deploy-previous", NOT_MANAGED),
                                                          ("properties.DEPLOY_MARKER", NOT_MANAGED)}
    body = carry_owned(desired, observed, rules)
    assert body == {"tags": {"A": "1", "deploy-previous": "r/api:1"},
                    "properties": {"LOG_LEVEL": "info", "DEPLOY_MARKER": "r/api:2"}}
