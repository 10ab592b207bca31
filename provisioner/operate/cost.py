"""Monthly cost per resource from its declared SKU and size, against a bundled price table (pure: wire bodies
in, figures out; no SDK, no network)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from provisioner.core.errors import ConfigError, ConfigProblem

DEFAULT_TABLE = "eastus-2026-11.json"
# ../shared/seed/platform-architecture.md, "Monthly Cost Estimates".
DOCUMENT_ESTIMATES = {"dev": 42.0, "staging": 100.0, "production": 289.0}
# The same document's post-deployment task: "Conduct cost analysis (within 10% variance)".
TOLERANCE = 0.10
DAYS_PER_MONTH = 730 / 24
# dev declares the largest cap allowed without a support request for "unlimited" (docs/environments.md): not a bound.
NO_PRACTICAL_CAP_GB = 1000.0


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    date: str
    source: str
    hours: float
    prices: dict[str, dict[str, Any]]

    def price(self, key: str) -> float | None:
        entry = self.prices.get(key)
        return float(entry["price"]) if entry else None

    @property
    def name(self) -> str:
        return f"{self.region} {self.date}"


def load_prices(path: Path | None = None) -> PriceTable:
    where = str(path) if path else f"provisioner/operate/prices/{DEFAULT_TABLE}"
    try:
        text = path.read_text() if path else resources.files("provisioner.operate.prices").joinpath(DEFAULT_TABLE).read_text()
        doc = json.loads(text)
        table = PriceTable(doc["region"], doc["currency"], doc["date"], doc["source"],
                           float(doc["hours_per_month"]), doc["prices"])
        for entry in table.prices.values():
            float(entry["price"]), str(entry["unit"])  # every entry has a numeric price and a unit
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError([ConfigProblem(where, "", f"not a price table: {exc}")]) from None
    except KeyError as exc:
        raise ConfigError([ConfigProblem(where, str(exc).strip("'"), "missing")]) from None
    return table


@dataclass(frozen=True)
class Line:
    step: str
    item: str  # what is billed, e.g. "App Service S1 Linux x 2"
    monthly: float  # in the total (0 for usage-based lines)
    basis: str  # how the figure was reached
    usage: bool = False  # billed by usage: not in the total
    ceiling: float | None = None  # the most it can cost (a daily cap, autoscale's maximum)


def _hourly(table: PriceTable, step: str, key: str, item: str, count: float = 1.0) -> list[Line]:
    rate = table.price(key)
    if rate is None:
        return [Line(step, item, 0.0, f"no price for {key} in the {table.name} table", usage=True)]
    times = f" x {count:g}" if count != 1 else ""
    return [Line(step, item, round(rate * table.hours * count, 2), f"${rate}/h x {table.hours:g} h{times}")]


def lines_for(step: str, type_name: str, body: dict[str, Any] | None, table: PriceTable) -> list[Line]:
    """The billed items of one resource as declared (or observed): [] for what carries no charge of its own."""
    if not body:
        return []
    t = type_name.lower()
    props = body.get("properties") or {}
    sku = body.get("sku") or {}
    if t == "microsoft.web/serverfarms":
        count = float(sku.get("capacity") or 1)
        os_name = "linux" if props.get("reserved") or "linux" in str(body.get("kind", "")).lower() else "windows"
        return _hourly(table, step, f"appservice.{os_name}.{sku.get('name')}",
                       f"App Service {sku.get('name')} {os_name.title()} x {count:g}", count)
    if t == "microsoft.dbforpostgresql/flexibleservers":
        # Zone-redundant or same-zone HA runs a standby billed like the primary (compute and storage).
        ha = str((props.get("highAvailability") or {}).get("mode") or "Disabled").lower() != "disabled"
        copies = 2.0 if ha else 1.0
        gb = float((props.get("storage") or {}).get("storageSizeGB") or 32)
        suffix = " + HA standby" if ha else ""
        out = _hourly(table, step, f"postgres.flexible.{sku.get('name')}", f"PostgreSQL {sku.get('name')}{suffix}",
                      copies)
        rate = table.price("postgres.flexible.storage") or 0.0
        out.append(Line(step, f"PostgreSQL storage {gb:g} GB{suffix}", round(rate * gb * copies, 2),
                        f"${rate}/GB-month x {gb:g} GB" + (" x 2" if ha else "")))
        return out
    if t == "microsoft.cache/redis":
        s = props.get("sku") or {}
        size = f"{s.get('family')}{s.get('capacity')}"
        return _hourly(table, step, f"redis.{s.get('name')}.{size}", f"Redis {s.get('name')} {size}")
    if t == "microsoft.cache/redisenterprise":
        # Azure Managed Redis is billed per cache instance (node) and hour; high availability runs two nodes
        # (the retail meter "<size> Cache Instance"; HA doubles the price: migrate-overview.md "Using
        # nonproduction environments without HA halves the cost of your instance").
        name = str(sku.get("name") or "")
        ha = str(props.get("highAvailability") or "Enabled").lower() == "enabled"
        return _hourly(table, step, f"managed_redis.{name}", f"Managed Redis {name}" + (" (HA, 2 nodes)" if ha else ""),
                       2.0 if ha else 1.0)
    if t == "microsoft.web/staticsites":
        swa = table.price(f"staticwebapp.{sku.get('name')}")
        return [Line(step, f"Static Web App {sku.get('name')}", swa or 0.0, f"${swa:g}/month" if swa is not None else "no price", usage=swa is None)]
    if t == "microsoft.network/dnszones":
        rate = table.price("dns.zone") or 0.0
        return [Line(step, "DNS zone (queries extra)", rate, f"${rate:g}/zone-month")]
    if t == "microsoft.insights/metricalerts":
        rate = table.price("monitor.metric_alert") or 0.0
        return [Line(step, "metric alert (1 time series)", rate, f"${rate:g}/time series-month")]
    if t == "microsoft.insights/webtests":
        rate = table.price("monitor.standard_webtest") or 0.0
        runs = table.hours * 3600 / float(props.get("Frequency") or 300) * len(props.get("Locations") or [])
        return [Line(step, f"standard availability test, {runs:,.0f} runs", round(rate * runs, 2),
                     f"${rate}/run x {runs:,.0f} runs")]
    if t == "microsoft.insights/components/currentbillingfeatures":
        raw_cap = (body.get("DataVolumeCap") or {}).get("Cap")
        cap = float(raw_cap) if raw_cap is not None else None
        rate = table.price("monitor.ingestion") or 0.0
        bounded = cap is not None and cap < NO_PRACTICAL_CAP_GB
        ceiling = round(cap * DAYS_PER_MONTH * rate, 2) if cap is not None and bounded else None
        basis = f"${rate:g}/GB ingested" + (f"; daily cap {cap:g} GB" if bounded else "; no practical daily cap")
        return [Line(step, "Application Insights / Log Analytics ingestion", 0.0, basis, usage=True, ceiling=ceiling)]
    if t == "microsoft.storage/storageaccounts":
        rate = table.price("storage.hot_lrs") or 0.0
        return [Line(step, f"storage {sku.get('name')} (data, operations)", 0.0, f"${rate}/GB-month stored", usage=True)]
    if t == "microsoft.communication/emailservices":
        rate = table.price("email.message") or 0.0
        return [Line(step, "email sent", 0.0, f"${rate}/email", usage=True)]
    return []


def autoscale_max(body: dict[str, Any] | None) -> int | None:
    profiles = ((body or {}).get("properties") or {}).get("profiles") or []
    maxima = [int((p.get("capacity") or {}).get("maximum") or 0) for p in profiles]
    return max(maxima) if maxima else None


@dataclass(frozen=True)
class Estimate:
    env: str
    lines: tuple[Line, ...]
    table: PriceTable
    budget: float | None = None
    document: float | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines if not line.usage), 2)

    @property
    def variance(self) -> float | None:
        """(estimate - document) / document."""
        return (self.total - self.document) / self.document if self.document else None

    @property
    def within_tolerance(self) -> bool | None:
        v = self.variance
        return None if v is None else abs(v) <= TOLERANCE


def estimate(env: str, bodies: Iterable[tuple[str, str, dict[str, Any] | None]], table: PriceTable,
             budget: float | None = None) -> Estimate:
    """bodies: (step, type, wire body) of every resource in the environment."""
    lines: list[Line] = []
    notes: list[str] = []
    scale: int | None = None
    for step, type_name, body in bodies:
        lines += lines_for(step, type_name, body, table)
        if type_name.lower() == "microsoft.insights/autoscalesettings":
            scale = autoscale_max(body)
    plan = next((line for line in lines if line.item.startswith("App Service ") and not line.usage), None)
    if scale and plan is not None:
        count = float(plan.item.rsplit(" x ", 1)[1])
        if scale > count:
            per = plan.monthly / count
            lines.append(Line(plan.step, f"autoscale up to {scale} instances", 0.0,
                              f"+${per:,.2f}/month per instance above {count:g}", usage=True,
                              ceiling=round(per * (scale - count), 2)))
    lines.sort(key=lambda line: line.usage)  # fixed charges first, usage-based after (stable otherwise)
    return Estimate(env, tuple(lines), table, budget, DOCUMENT_ESTIMATES.get(env), tuple(notes))


def monthly(lines: Iterable[Line]) -> float:
    return round(sum(line.monthly for line in lines if not line.usage), 2)
