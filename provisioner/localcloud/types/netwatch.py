"""Network Watcher: Azure enables it in a region by itself when a virtual network is created there."""

from __future__ import annotations

from typing import Any

from ..profile import EngineApi, TypeProfile

GROUP = "NetworkWatcherRG"
WATCHER = "Microsoft.Network/networkWatchers"


def ensure(engine: EngineApi, vnet_id: str, location: str, now: str) -> None:
    """learn.microsoft.com/azure/network-watcher/network-watcher-create: "Network Watcher is automatically enabled
    when you create or update a virtual network in your subscription", as NetworkWatcher_<region> in a resource
    group named NetworkWatcherRG (created if missing), at no charge. Once per region and subscription."""
    subscription = vnet_id.split("/")[2]
    region = location.replace(" ", "").lower()
    for watcher in engine.find(WATCHER, f"/subscriptions/{subscription}"):
        if str(watcher.get("location") or "").lower() == region:
            return
    group_id = f"/subscriptions/{subscription}/resourceGroups/{GROUP}"
    system = {"createdBy": "Microsoft.Network", "createdByType": "Application", "createdAt": now,
              "lastModifiedBy": "Microsoft.Network", "lastModifiedByType": "Application", "lastModifiedAt": now}
    if engine.get(group_id) is None:
        engine.put_raw(group_id, {"id": group_id, "name": GROUP, "type": "Microsoft.Resources/resourceGroups",
                                  "location": region, "properties": {"provisioningState": "Succeeded"},
                                  "systemData": system})
    name = f"NetworkWatcher_{region}"
    rid = f"{group_id}/providers/{WATCHER}/{name}"
    body: dict[str, Any] = {"id": rid, "name": name, "type": WATCHER, "location": region, "etag": f'W/"{now}"',
                            "properties": {"provisioningState": "Succeeded"}, "systemData": system}
    engine.put_raw(rid, body)


PROFILES = [TypeProfile(type=WATCHER, created=201, updated=200, latency=3.0)]
