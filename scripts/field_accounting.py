"""Print, per environment, how many fields of each managed type are compared, read-only or not managed.

    .venv/bin/python scripts/field_accounting.py [--env dev] [--by-type] [--missing]

Fields are the SDK model's wire paths (provisioner/engine/fields.py): *compared* = writable and declared (or inside
a list or dict we own whole), *read-only* = server-populated per the model/REST spec, *not managed* =
writable, named in the step's `Rules.not_managed` with a reason. Counts are per resource instance, summed.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import steps  # noqa: E402
from provisioner.cli.session import load_session  # noqa: E402
from provisioner.engine.fields import Accounting, account_type  # noqa: E402
from provisioner.engine.step import Step  # noqa: E402

ENVS = ("dev", "staging", "production")


def _owner(step: Step) -> str:
    return f"{type(step).__module__}.{type(step).__name__}"


def by_type(envs: tuple[str, ...]) -> dict[str, tuple[Accounting | None, dict[str, int]]]:
    """Step type -> (its accounting across every env's bodies, instances per env)."""
    bodies: dict[str, list[dict]] = defaultdict(list)
    sample: dict[str, Step] = {}
    instances: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for env in envs:
        for step in load_session(env, steps.ALL_STEPS, ROOT / "envs").steps:
            owner = _owner(step)
            sample.setdefault(owner, step)
            bodies[owner].append(step.desired({}))
            instances[owner][env] += 1
    out: dict[str, tuple[Accounting | None, dict[str, int]]] = {}
    for owner, step in sample.items():
        model = type(step).model
        acc = account_type(owner, model, type(step).model_at, step.rules, bodies[owner]) if model else None
        out[owner] = (acc, dict(instances[owner]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", action="append", choices=ENVS)
    parser.add_argument("--by-type", action="store_true", help="one line per step type as well")
    parser.add_argument("--missing", action="store_true", help="list writable fields nobody accounts for")
    args = parser.parse_args()
    envs = tuple(args.env or ENVS)
    table = by_type(ENVS)
    print(f"{'environment':12} {'resources':>9} {'compared':>9} {'read-only':>9} {'not managed':>11} {'no model':>8}")
    for env in envs:
        totals = defaultdict(int)
        for acc, per_env in table.values():
            n = per_env.get(env, 0)
            totals["resources"] += n
            if acc is None:
                totals["no model"] += n
                continue
            totals["compared"] += n * len(acc.compared)
            totals["read-only"] += n * len(acc.read_only)
            totals["not managed"] += n * len(acc.not_managed)
        print(f"{env:12} {totals['resources']:9} {totals['compared']:9} {totals['read-only']:9} "
              f"{totals['not managed']:11} {totals['no model']:8}")
    if args.by_type:
        print()
        for owner, (acc, _) in sorted(table.items()):
            if acc is None:
                print(f"  {owner:55} (no SDK model: see the step's model_reason)")
            else:
                print(f"  {owner:55} compared {len(acc.compared):3}  read-only {len(acc.read_only):3}  "
                      f"not managed {len(acc.not_managed):3}  unaccounted {len(acc.missing)}")
    if args.missing:
        for owner, (acc, _) in sorted(table.items()):
            for path in acc.missing if acc else ():
                print(f"  {owner}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
