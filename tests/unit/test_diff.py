"""The differ: left-scoped, normalized, tags owned whole, sensitive values redacted."""

from provisioner.diff import Rules, as_str, diff, location, lower
from provisioner.model import SENSITIVE, UNKNOWN


def test_identical_is_empty():
    body = {"location": "eastus", "properties": {"a": 1}}
    assert diff(body, body).empty


def test_server_populated_fields_are_ignored_and_counted():
    desired = {"properties": {"httpsOnly": True}}
    observed = {"id": "/x", "name": "n", "type": "t", "properties": {"httpsOnly": True, "state": "Running",
                                                                     "provisioningState": "Succeeded", "hostNames": ["a"]}}
    result = diff(desired, observed)
    assert result.empty
    paths = {i.path for i in result.ignored}
    assert {"id", "name", "type", "properties.state", "properties.hostNames", "properties.provisioningState"} <= paths
    assert all(i.rule == "server-populated" for i in result.ignored)


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
    assert diff(desired, observed).empty


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
