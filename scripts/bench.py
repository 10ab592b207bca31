"""Benchmark: provision/plan wall time on the local cloud's realistic profile, as ratios measured in one run.

Usage: python scripts/bench.py [--env production] [--time-scale 0.002] [--json]

Figures (one run, same machine, so ratios are meaningful even on a noisy shared host):
- concurrent provision (10 workers) vs the same provision with 1 worker: the speed-up of the graph walk;
- the critical path of the step graph (sum of the slowest chain of simulated durations) vs the
  concurrent wall time: how close the executor gets to the lower bound;
- a no-change re-plan vs the first provision, and the writes the second provision sends (must be 0);
- peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import steps  # noqa: E402
from provisioner.azure import Clients, Target  # noqa: E402
from provisioner.cli.session import Connection, apply, ensure_providers, load_session, make_plan  # noqa: E402
from provisioner.core.model import Status  # noqa: E402
from provisioner.engine.executor import Timing  # noqa: E402
from provisioner.engine.reconciler import Policy  # noqa: E402
from provisioner.localcloud import LocalCloud  # noqa: E402


def provision(env: str, time_scale: float, workers: int) -> dict:
    session = load_session(env, steps.ALL_STEPS, Path("envs"))
    with tempfile.TemporaryDirectory() as tmp, LocalCloud(state_file=Path(tmp) / "s.json", latency="realistic",
                                                          time_scale=time_scale) as cloud:
        clients = Clients(Target(session.env.subscription_id, cloud.url, local=True, polling_interval=0.02,
                                 ca_file=str(cloud.ca_file)))
        conn = Connection(clients, Timing.local())
        started = time.perf_counter()
        the_plan, known = make_plan(session, conn, Policy(), workers)
        ensure_providers(session, conn)  # what `provision` does first on a new subscription
        outcomes, _ = apply(session, conn, the_plan, known, Policy(), workers)
        first = time.perf_counter() - started
        # WAITING is not a failure: production's delegations of dev./staging. wait for those zones to exist.
        # Failed or skipped only: a step found already in its state at apply (UNCHANGED: connection strings that come
        # with the site, server parameters Azure already holds) is a success, which this list used to count.
        failed = [o.change.step for o in outcomes if o.status in (Status.FAILED, Status.SKIPPED)]
        step_seconds = {o.change.step: o.seconds for o in outcomes}
        before = len(cloud.requests())
        started = time.perf_counter()
        again, _ = make_plan(session, conn, Policy(), workers)
        replan = time.perf_counter() - started
        writes = [r for r in cloud.requests()[before:] if r.get("write")]
    critical = _critical_path(session, step_seconds)
    return {"env": env, "workers": workers, "steps": len(session.steps), "provision_s": first, "replan_s": replan,
            "replan_changes": len(again.pending), "replan_writes": len(writes), "failed": failed,
            "critical_path_s": critical}


def _critical_path(session, seconds: dict[str, float]) -> float:
    finish: dict[str, float] = {}
    for name in session.graph.order:
        start = max((finish[d] for d in session.graph.deps[name]), default=0.0)
        finish[name] = start + seconds.get(name, 0.0)
    return max(finish.values(), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="production")
    parser.add_argument("--time-scale", type=float, default=0.002, help="realistic durations x this (Redis 20 min -> 2.4 s)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    concurrent = provision(args.env, args.time_scale, workers=10)
    serial = provision(args.env, args.time_scale, workers=1)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "env": args.env,
        "steps": concurrent["steps"],
        "time_scale": args.time_scale,
        "speedup_10_workers_vs_1": serial["provision_s"] / concurrent["provision_s"],
        "wall_vs_critical_path": concurrent["provision_s"] / max(concurrent["critical_path_s"], 1e-9),
        "replan_vs_provision": concurrent["replan_s"] / concurrent["provision_s"],
        "second_run_writes": concurrent["replan_writes"],
        "second_run_changes": concurrent["replan_changes"],
        "failed": concurrent["failed"] + serial["failed"],
        "peak_rss_mb": round(peak_mb, 1),
        "raw_seconds": {"concurrent": concurrent["provision_s"], "serial": serial["provision_s"],
                        "replan": concurrent["replan_s"], "critical_path": concurrent["critical_path_s"]},
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{args.env}: {figures['steps']} steps, realistic latency x{args.time_scale}")
    print(f"  10 workers vs 1 worker: {figures['speedup_10_workers_vs_1']:.2f}x faster")
    print(f"  wall time / critical path: {figures['wall_vs_critical_path']:.2f} (1.00 is the lower bound)")
    print(f"  no-change re-plan / provision: {figures['replan_vs_provision']:.3f}")
    print(f"  second run: {figures['second_run_changes']} changes, {figures['second_run_writes']} writes")
    print(f"  peak RSS: {figures['peak_rss_mb']} MB; failed steps: {figures['failed'] or 'none'}")


if __name__ == "__main__":
    main()
