"""Azure Managed Redis (Microsoft.Cache/redisEnterprise + databases) through the real SDK: what Azure accepts
and what it refuses (provisioner/localcloud/types/redisenterprise.py cites each rule)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.localcloud.conftest import RG, rid


@pytest.fixture
def amr(make: Any, rg: str) -> Any:
    from azure.mgmt.redisenterprise import RedisEnterpriseManagementClient

    return make(RedisEnterpriseManagementClient)


def _cluster(sku: str = "Balanced_B1", ha: str = "Enabled", **props: Any) -> dict[str, Any]:
    return {"location": "East US", "sku": {"name": sku}, "tags": {"Environment": "dev"},
            "properties": {"highAvailability": ha, "minimumTlsVersion": "1.2", "publicNetworkAccess": "Enabled",
                           **props}}


def _db(**props: Any) -> dict[str, Any]:
    return {"properties": {"clientProtocol": "Encrypted", "port": 10000, "clusteringPolicy": "NoCluster",
                           "evictionPolicy": "VolatileLRU", "accessKeysAuthentication": "Enabled", **props}}


def _refused(call: Any, code: str) -> str:
    with pytest.raises(HttpResponseError) as err:
        poller = call()
        if hasattr(poller, "result"):
            poller.result()
    assert err.value.status_code == 400 and err.value.error.code == code, (err.value.status_code, err.value.error)
    return str(err.value.message)


def test_cluster_and_database_lifecycle_with_keys(amr):
    cluster = amr.redis_enterprise.begin_create(RG, "cache-1", _cluster()).result()
    # Shapes of spec example RedisEnterpriseCreate.json; the Managed Redis host suffix and Redis 7.4.
    assert cluster.host_name == "cache-1.eastus.redis.azure.net" and cluster.provisioning_state == "Succeeded"
    assert cluster.resource_state == "Running" and cluster.high_availability == "Enabled"
    assert cluster.redundancy_mode == "ZR" and cluster.kind == "v2" and cluster.location == "eastus"
    db = amr.databases.begin_create(RG, "cache-1", "default", _db(persistence={"aofEnabled": True})).result()
    assert db.name == "cache-1/default" and db.port == 10000 and db.client_protocol == "Encrypted"
    assert db.persistence.aof_enabled is True and db.persistence.aof_frequency == "1s"
    assert db.resource_state == "Running" and db.redis_version == "7.4"
    first = amr.databases.list_keys(RG, "cache-1", "default")
    assert first.primary_key and first.secondary_key and first.primary_key != first.secondary_key
    assert amr.databases.list_keys(RG, "cache-1", "default").primary_key == first.primary_key
    amr.databases.begin_regenerate_key(RG, "cache-1", "default", {"keyType": "Primary"}).result()
    assert amr.databases.list_keys(RG, "cache-1", "default").primary_key != first.primary_key
    # PATCH: scale up, switch AOF to RDB (one at a time is allowed), HA enabled on a non-HA cluster.
    amr.redis_enterprise.begin_update(RG, "cache-1", {"sku": {"name": "Balanced_B3"}}).result()
    assert amr.redis_enterprise.get(RG, "cache-1").sku.name == "Balanced_B3"
    amr.databases.begin_update(RG, "cache-1", "default", {"properties": {"persistence": {
        "aofEnabled": False, "rdbEnabled": True, "rdbFrequency": "6h"}}}).result()
    assert amr.databases.get(RG, "cache-1", "default").persistence.rdb_frequency == "6h"
    amr.redis_enterprise.begin_delete(RG, "cache-1").result()
    with pytest.raises(ResourceNotFoundError):
        amr.databases.get(RG, "cache-1", "default")  # the database goes with its cluster


def test_ha_can_be_enabled_later_but_never_disabled(amr):
    amr.redis_enterprise.begin_create(RG, "dev-cache", _cluster("Balanced_B0", ha="Disabled")).result()
    assert amr.redis_enterprise.get(RG, "dev-cache").redundancy_mode == "None"
    amr.redis_enterprise.begin_update(RG, "dev-cache", {"properties": {"highAvailability": "Enabled"}}).result()
    message = _refused(lambda: amr.redis_enterprise.begin_update(
        RG, "dev-cache", {"properties": {"highAvailability": "Disabled"}}), "HighAvailabilityCannotBeDisabled")
    assert "cannot be disabled" in message


@pytest.mark.parametrize("sku, code", [("Enterprise_E10", "BadRequest"), ("EnterpriseFlash_F300", "BadRequest"),
                                       ("Balanced_B2", "InvalidSkuName"), ("Standard", "InvalidSkuName")])
def test_retired_and_unknown_skus_are_refused(amr, sku, code):
    message = _refused(lambda: amr.redis_enterprise.begin_create(RG, "c1", _cluster(sku)), code)
    if code == "BadRequest":
        assert "please create Azure Managed Redis instead" in message


def test_scaling_down_is_refused(amr):
    amr.redis_enterprise.begin_create(RG, "c2", _cluster("Balanced_B3")).result()
    _refused(lambda: amr.redis_enterprise.begin_update(RG, "c2", {"sku": {"name": "Balanced_B1"}}),
             "ScaleDownNotSupported")
    amr.redis_enterprise.begin_update(RG, "c2", {"sku": {"name": "MemoryOptimized_M10"}}).result()  # larger: fine


@pytest.mark.parametrize("name", ["-cache", "cache-", "ca--che", "c" * 61, "ca_che"])
def test_cluster_names_follow_azure_rules(amr, name):
    _refused(lambda: amr.redis_enterprise.begin_create(RG, name, _cluster()), "InvalidResourceName")


def test_database_rules(amr, cloud):
    amr.redis_enterprise.begin_create(RG, "c3", _cluster()).result()
    _refused(lambda: amr.databases.begin_create(RG, "c3", "sessions", _db()), "InvalidDatabaseName")
    _refused(lambda: amr.databases.begin_create(RG, "c3", "default", _db(persistence={
        "aofEnabled": True, "rdbEnabled": True, "rdbFrequency": "1h"})), "InvalidPersistenceConfiguration")
    _refused(lambda: amr.databases.begin_create(RG, "c3", "default", _db(persistence={
        "rdbEnabled": True, "rdbFrequency": "4h"})), "InvalidPersistenceConfiguration")
    amr.databases.begin_create(RG, "c3", "default", _db(clusteringPolicy="OSSCluster")).result()
    # OSSCluster -> EnterpriseCluster needs the database deleted; the port and protocol are fixed at create.
    _refused(lambda: amr.databases.begin_update(RG, "c3", "default", {"properties": {
        "clusteringPolicy": "EnterpriseCluster"}}), "ClusteringPolicyCannotBeChanged")
    _refused(lambda: amr.databases.begin_update(RG, "c3", "default", {"properties": {"port": 10001}}),
             "PropertyCannotBeChanged")
    _refused(lambda: amr.databases.begin_update(RG, "c3", "default", {"properties": {"clientProtocol": "Plaintext"}}),
             "PropertyCannotBeChanged")
    amr.databases.begin_update(RG, "c3", "default", {"properties": {"accessKeysAuthentication": "Disabled"}}).result()


def test_no_cluster_may_become_clustered(amr):
    amr.redis_enterprise.begin_create(RG, "c4", _cluster()).result()
    amr.databases.begin_create(RG, "c4", "default", _db()).result()  # NoCluster
    amr.databases.begin_update(RG, "c4", "default", {"properties": {"clusteringPolicy": "OSSCluster"}}).result()
    assert amr.databases.get(RG, "c4", "default").clustering_policy == "OSSCluster"


def test_defaults_azure_fills_in(amr, cloud):
    amr.redis_enterprise.begin_create(RG, "c5", {"location": "eastus", "sku": {"name": "Balanced_B0"}}).result()
    amr.databases.begin_create(RG, "c5", "default", {"properties": {}}).result()
    body = cloud.state()[rid("Microsoft.Cache/redisEnterprise/c5/databases/default")]["properties"]
    assert (body["clientProtocol"], body["port"], body["clusteringPolicy"], body["evictionPolicy"]) == (
        "Encrypted", 10000, "OSSCluster", "VolatileLRU")
    assert body["accessKeysAuthentication"] == "Disabled"  # keys are off unless asked for
    assert body["persistence"] == {"aofEnabled": False, "rdbEnabled": False}


def test_a_database_needs_its_cluster(amr):
    with pytest.raises(ResourceNotFoundError):
        amr.databases.begin_create(RG, "nope", "default", _db()).result()


@pytest.mark.parametrize(("where", "key"), [("cluster", "highAvailability"), ("cluster", "publicNetworkAccess"),
                                            ("database", "clusteringPolicy"), ("database", "evictionPolicy"),
                                            ("database", "clientProtocol"), ("database", "accessKeysAuthentication")])
def test_unknown_enum_values_are_refused(amr, where, key):
    if where == "cluster":
        _refused(lambda: amr.redis_enterprise.begin_create(RG, "c6", _cluster(**{key: "Sometimes"})),
                 "InvalidRequestContent")
    else:
        amr.redis_enterprise.begin_create(RG, "c6", _cluster()).result()
        _refused(lambda: amr.databases.begin_create(RG, "c6", "default", _db(**{key: "Sometimes"})),
                 "InvalidRequestContent")
