#!/usr/bin/env python3
"""Refresh the bundled price table from the public Azure Retail Prices API (no sign-in needed).

    python scripts/refresh_prices.py [--region eastus] [--table provisioner/operate/prices/eastus-2026-11.json] [--out FILE]

Each entry of the current table names its meter (`retail`: serviceName, productName, skuName, meterName); the
script asks https://prices.azure.com/api/retail/prices for the pay-as-you-go ("Consumption") price of that
meter in the region and writes a new table dated today. Entries it cannot match keep their old price and are
listed. API reference: learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

API = "https://prices.azure.com/api/retail/prices"
# unitOfMeasure in the API -> the unit the table uses
UNITS = {"1 Hour": "hour", "1/Month": "month", "1 GB/Month": "GB-month", "1 GB": "GB", "1": "execution", "1 MB": "MB"}

Fetch = Callable[[str], dict[str, Any]]


def _fetch(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - a fixed https endpoint
        return json.loads(resp.read())


def query(region: str, retail: dict[str, str]) -> str:
    clauses = [f"armRegionName eq '{region}'", "priceType eq 'Consumption'"]
    clauses += [f"{key} eq '{value}'" for key, value in retail.items() if key in ("serviceName", "skuName", "productName",
                                                                                    "meterName")]
    return API + "?" + urllib.parse.urlencode({"$filter": " and ".join(clauses)})


def items(url: str, fetch: Fetch) -> Iterator[dict[str, Any]]:
    """Every item of a query, following NextPageLink."""
    next_url: str | None = url
    while next_url:
        page = fetch(next_url)
        yield from page.get("Items") or []
        next_url = page.get("NextPageLink")


def pick(found: list[dict[str, Any]], unit: str) -> float | None:
    """The pay-as-you-go price in the table's unit: no reservation, no Spot/Low Priority, no free tier rows."""
    good = [i for i in found if UNITS.get(str(i.get("unitOfMeasure"))) == unit and not i.get("reservationTerm")
            and "Spot" not in str(i.get("skuName")) and "Low Priority" not in str(i.get("skuName"))
            and float(i.get("tierMinimumUnits") or 0) == 0]
    prices = sorted({float(i["retailPrice"]) for i in good})
    return prices[-1] if prices else None


def refresh(table: dict[str, Any], region: str, fetch: Fetch = _fetch,
            today: dt.date | None = None) -> tuple[dict[str, Any], list[str]]:
    out = json.loads(json.dumps(table))
    missed = []
    for key, entry in out["prices"].items():
        price = pick(list(items(query(region, entry.get("retail") or {}), fetch)), entry["unit"])
        if price is None:
            missed.append(key)
        else:
            entry["price"] = price
    out.update(region=region, date=(today or dt.date.today()).isoformat(),
               source=f"Azure Retail Prices API ({API}), pay-as-you-go, fetched by scripts/refresh_prices.py")
    return out, missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", default="eastus")
    parser.add_argument("--table", type=Path, default=Path("provisioner/operate/prices/eastus-2026-11.json"))
    parser.add_argument("--out", type=Path, default=None, help="default: provisioner/operate/prices/<region>-<YYYY-MM>.json")
    args = parser.parse_args(argv)
    table, missed = refresh(json.loads(args.table.read_text()), args.region)
    out = args.out or Path("provisioner/prices") / f"{args.region}-{table['date'][:7]}.json"
    out.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {out}")
    for key in missed:
        print(f"warning: no price found for {key}; kept the old one", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
