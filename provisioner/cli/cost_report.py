"""The cost report (text, JSON, Markdown) and the monthly delta a plan would cause."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from provisioner.core.errors import ConfigProblem
from provisioner.core.model import Action, Plan
from provisioner.operate.cost import TOLERANCE, Estimate, PriceTable, estimate, lines_for, monthly


def declared(steps: Sequence[Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(step, type, desired body) of every step: the environment as its files declare it (no request)."""
    return [(s.name, s.type, s.desired({})) for s in steps]


def budget_of(steps: Sequence[Any]) -> float | None:
    step = next((s for s in steps if s.name == "budget"), None)
    amount = ((step.desired({}) if step else {}).get("properties") or {}).get("amount")
    return float(amount) if amount is not None else None


def for_session(env: str, steps: Sequence[Any], table: PriceTable) -> Estimate:
    return estimate(env, declared(steps), table, budget_of(steps))


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _pct(value: float) -> str:
    return f"{value * 100:+.0f}%"


def _share(value: float, budget: float) -> str:
    share = value / budget
    verdict = "over the budget" if share > 1 else ("at or above the 80% alert" if share >= 0.8 else "within")
    return f"{share * 100:.0f}% of it ({verdict})"


def _checks(est: Estimate) -> list[str]:
    out = []
    if est.budget is not None:
        out.append(f"budget {_money(est.budget)}/month: the estimate is {_share(est.total, est.budget)}")
        if est.at_scale_max != est.total:
            out.append(f"with autoscale at its maximum all month: {_money(est.at_scale_max)}/month, "
                       f"{_share(est.at_scale_max, est.budget)}")
    if est.document is not None and est.variance is not None:
        verdict = "within" if est.within_tolerance else "OUTSIDE"
        out.append(f"document estimate {_money(est.document)}/month: {_pct(est.variance)} "
                   f"({verdict} the document's {TOLERANCE * 100:.0f}% variance)")
    if est.worst_case != est.at_scale_max:
        out.append(f"at most {_money(est.worst_case)}/month with autoscale at its maximum and every usage cap "
                   "(telemetry ingestion) reached every day: a ceiling, not gated by --fail-over-budget")
    return out


def gate(est: Estimate) -> list[str]:
    """What `cost --fail-over-budget` fails on: the estimate, or autoscale's maximum, over the budget."""
    return est.over_budget()


def budget_warnings(env: Any, steps: Sequence[Any], table: PriceTable) -> list[ConfigProblem]:
    """`validate` (every command's load) warns when the environment as declared does not fit its budget,
    naming the budget's file and key (prices from the bundled table, offline)."""
    est = for_session(env.name, steps, table)
    key = "budget.amount"
    return [ConfigProblem(env.where(key), key, f"{reason} (provisioner cost --env {env.name}; docs/cost.md)", "warning")
            for reason in est.over_budget()]


def text(est: Estimate) -> str:
    t = est.table
    lines = [f"Monthly cost estimate for {est.env} ({t.currency}, {t.region} list prices of {t.date}; "
             f"{t.hours:g} h/month)", ""]
    width = max((len(line.item) for line in est.lines), default=10)
    for line in est.lines:
        figure = "usage" if line.usage else _money(line.monthly)
        extra = f"  (up to {_money(line.ceiling)})" if line.ceiling else ""
        lines.append(f"  {line.item:<{width}}  {figure:>10}  {line.basis}{extra}  [{line.step}]")
    lines += ["", f"  {'total (fixed charges)':<{width}}  {_money(est.total):>10}", ""]
    lines += [f"  {c}" for c in _checks(est)]
    notes = est.price_notes()
    if notes:
        lines += ["", "  Prices that differ from the architecture document:"] + [f"    {n}" for n in notes]
    return "\n".join(lines) + "\n"


def to_json(est: Estimate) -> str:
    t = est.table
    doc = {
        "schema": 1, "env": est.env, "currency": t.currency,
        "prices": {"region": t.region, "date": t.date, "source": t.source, "hours_per_month": t.hours},
        "lines": [{"step": line.step, "item": line.item, "monthly": line.monthly, "basis": line.basis,
                   "usage": line.usage, "ceiling": line.ceiling} for line in est.lines],
        "total": est.total, "budget": est.budget, "document_estimate": est.document,
        "variance": round(est.variance, 4) if est.variance is not None else None,
        "within_tolerance": est.within_tolerance, "tolerance": TOLERANCE,
        "at_scale_max": est.at_scale_max, "worst_case": est.worst_case, "over_budget": est.over_budget(),
        "price_notes": est.price_notes(),
    }
    return json.dumps(doc, indent=2) + "\n"


def markdown(est: Estimate) -> str:
    t = est.table
    out = [f"### Monthly cost: {est.env}", "",
           f"{t.currency}, {t.region} list prices of {t.date}.", "",
           "| resource | item | monthly | basis |", "|---|---|---:|---|"]
    for line in est.lines:
        figure = "usage" if line.usage else _money(line.monthly)
        extra = f" (up to {_money(line.ceiling)})" if line.ceiling else ""
        out.append(f"| `{line.step}` | {line.item} | {figure} | {line.basis}{extra} |")
    out += [f"| | **total (fixed charges)** | **{_money(est.total)}** | |", ""]
    out += [f"- {c}" for c in _checks(est)]
    notes = est.price_notes()
    if notes:
        out += ["", "Prices that differ from the architecture document:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- plan delta


@dataclass(frozen=True)
class Delta:
    step: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return round(self.after - self.before, 2)


def plan_delta(steps: Sequence[Any], the_plan: Plan, known: dict[str, Any], table: PriceTable) -> list[Delta]:
    """The monthly change in fixed charges of each pending change (a SKU, size or count change, a new or
    deleted billable resource)."""
    by_name = {s.name: s for s in steps}
    out = []
    for change in the_plan.changes:
        step = by_name.get(change.step)
        if step is None or change.action == Action.NOOP:
            continue
        before = monthly(lines_for(step.name, step.type, known.get(step.name), table))
        after = 0.0 if change.action == Action.DELETE else monthly(
            lines_for(step.name, step.type, step.desired(known), table))
        if round(after - before, 2):
            out.append(Delta(step.name, before, after))
    return out


def delta_text(deltas: list[Delta], table: PriceTable) -> str:
    if not deltas:
        return ""
    total = round(sum(d.change for d in deltas), 2)
    lines = [f"Monthly cost change: {'+' if total >= 0 else '-'}{_money(abs(total))} "
             f"({table.region} list prices of {table.date})"]
    lines += [f"    {d.step}: {_money(d.before)} -> {_money(d.after)}" for d in deltas]
    return "\n".join(lines) + "\n"


def delta_json(deltas: list[Delta], table: PriceTable) -> dict[str, Any]:
    return {"monthly_delta": round(sum(d.change for d in deltas), 2), "currency": table.currency,
            "prices": f"{table.region} {table.date}",
            "changes": [{"step": d.step, "before": d.before, "after": d.after} for d in deltas]}
