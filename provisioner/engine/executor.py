"""APPLY: concurrent walk of the plan's graph with retries, lanes, skipped dependents and verification."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

from provisioner.core.errors import AzureCallError, NotConverged, ProvisionerError, Waiting
from provisioner.core.model import ABANDONED, NOT_STARTED, Action, Change, Outcome, Plan, Status
from provisioner.engine.carry import carry_owned
from provisioner.engine.children import Child, Children
from provisioner.engine.diff import diff
from provisioner.engine.graph import Graph
from provisioner.engine.reconciler import Policy, decide, has_unknown, in_flight, waits_on
from provisioner.engine.step import Step

Event = Callable[[str, Change, Outcome | None], None]  # ("start" | "done", change, outcome)
Note = Callable[[str, str], None]  # (step name, progress message) from a step's long wait


@dataclass(frozen=True)
class Timing:
    """Deadlines for the step-level retry layer (azure-core already retries 429/5xx per request)."""

    retry_deadline: float = 600.0
    backoff_min: float = 1.0
    backoff_max: float = 30.0
    visible_deadline: float = 120.0  # a 404 right after our own create is eventual consistency
    settle_deadline: float = 3600.0  # wait for a non-terminal provisioningState before writing
    poll: float = 5.0

    @classmethod
    def local(cls) -> Timing:
        return cls(retry_deadline=30, backoff_min=0.05, backoff_max=0.5, visible_deadline=10, settle_deadline=600, poll=0.05)


def _silent(message: str) -> None:
    return None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, AzureCallError) and exc.retryable


class Executor:
    def __init__(self, steps: Sequence[Step], graph: Graph, clients: Any, policy: Policy, production: bool,
                 workers: int = 10, timing: Timing = Timing(), on_event: Event | None = None,
                 on_interrupt: Callable[[int, list[str]], None] | None = None,
                 children: Sequence[Children] = (),
                 guard: Callable[[], None] | None = None, on_note: Note | None = None):
        self.steps = {s.name: s for s in steps}
        self.children = {c.name: c for c in children}
        self.graph = graph
        self.clients = clients
        self.policy = policy
        self.production = production
        self.workers = workers
        self.timing = timing
        self.on_event = on_event
        self.on_interrupt = on_interrupt  # (presses so far, steps in flight)
        self.on_note = on_note
        self.interrupted = 0
        self.guard = guard  # raises when this run lost the run lock: checked before every write
        self._lanes: dict[str, threading.Lock] = {}
        self._lanes_guard = threading.Lock()
        self.known: dict[str, dict | None] = {}
        # Steps deleted and created again in this run. Deleting a parent deletes its children (a static web
        # app's custom domain), so a dependent planned as "noop" is re-read and re-decided, as Terraform
        # re-plans the dependents of a replaced resource: one run converges.
        self.recreated: set[str] = set()

    def _retry(self, fn: Callable[[], Any]) -> Any:
        for attempt in Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_delay(self.timing.retry_deadline),
            wait=wait_exponential(min=self.timing.backoff_min, max=self.timing.backoff_max),
            reraise=True,
        ):
            with attempt:
                return fn()
        return None  # pragma: no cover - tenacity either returns or raises

    def _lane(self, key: str | None) -> threading.Lock | None:
        if key is None:
            return None
        with self._lanes_guard:
            return self._lanes.setdefault(key, threading.Lock())

    def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.guard is not None:
            self.guard()
        return fn(*args)

    def _wait_settled(self, step: Step) -> dict | None:
        deadline = time.monotonic() + self.timing.settle_deadline
        while True:
            body = self._retry(lambda: step.read(self.clients))
            if body is None or step.settled(body) or time.monotonic() > deadline:
                return body
            time.sleep(self.timing.poll)

    def _settled(self, step: Step) -> dict | None:
        """Never write to a resource that is mid-operation, nor under a parent that is: wait until each is
        settled (`Step.settled`: a terminal provisioningState, PostgreSQL's `state` Ready), then read it."""
        for name in step.needs_settled:
            parent = self.steps.get(name)
            if parent is not None:
                self._wait_settled(parent)
        return self._wait_settled(step)

    def _verify(self, step: Step, desired: dict) -> dict:
        deadline = time.monotonic() + self.timing.visible_deadline
        while True:
            body = self._retry(lambda: step.read(self.clients))
            if body is not None or time.monotonic() > deadline:
                break
            time.sleep(self.timing.poll)
        if body is None:
            raise NotConverged(f"{step.name}: still absent after apply")
        result = diff(desired, body, step.rules)
        if result.changes:
            paths = ", ".join(c.path for c in result.changes[:5])
            raise NotConverged(f"{step.name}: did not converge ({paths})")
        return body

    def _delete_child(self, change: Change) -> Outcome:
        """Remove a child of an owned collection that no env file declares, then check it is gone."""
        if change.refused:
            return Outcome(change, Status.LEFT_FOR_A_PERSON, change.refused)
        assert change.collection is not None
        collection = self.children[change.collection]
        started = time.monotonic()
        child = Child(change.ref.id, change.ref.name, {})
        lane = self._lane(collection.lane)
        if lane:
            lane.acquire()
        try:
            self._retry(lambda: collection.delete(self.clients, child))
            left = self._retry(lambda: collection.list(self.clients))
        finally:
            if lane:
                lane.release()
        if any(c.name.lower() == child.name.lower() for c in left):
            raise NotConverged(f"{change.step}: still listed after delete")
        return Outcome(change, Status.APPLIED, seconds=time.monotonic() - started)

    def _apply_one(self, change: Change) -> Outcome:
        if change.collection is not None:
            return self._delete_child(change)
        step = self.steps[change.step]
        started = time.monotonic()
        # Desired state is recomputed now: dependencies may have been created since the plan was made.
        self._retry(lambda: step.gather(self.clients, self.known))
        desired = step.desired(self.known)
        if change.action is not Action.NOOP and (why := step.precondition(self.known)):
            return Outcome(change, Status.WAITING, why)
        if has_unknown(desired):
            raise ProvisionerError(f"{step.name}: a value it needs from another step is still unknown")
        parent_recreated = any(d in self.recreated for d in self.graph.deps.get(step.name, ()))
        if (change.action is Action.NOOP and not parent_recreated and desired == step.desired(self._planned_known)
                and not in_flight(step, self._planned_known.get(step.name))):
            return Outcome(change, Status.UNCHANGED)
        lane = self._lane(step.lane)
        if lane:
            lane.acquire()
        try:
            observed = self._settled(step)
            current = decide(step, desired, observed, self.policy, self.production)
            if current.refused:
                raise ProvisionerError(f"{step.name}: refused {current.action.value}: {current.refused}")
            if current.action is Action.NOOP:
                self.known[step.name] = observed
                return Outcome(change, Status.UNCHANGED, seconds=time.monotonic() - started)
            if current.action is Action.CREATE:
                self._retry(lambda: self._write(step.create, self.clients, desired))
            elif current.action is Action.UPDATE:
                assert observed is not None
                # Not-managed fields carry what Azure has (an autoscaled plan keeps its instance count).
                body = carry_owned(desired, observed, step.rules)
                self._retry(lambda: self._write(step.update, self.clients, body, observed, current.properties))
            elif current.action is Action.REPLACE:
                self._retry(lambda: self._write(step.delete, self.clients))
                self._retry(lambda: self._write(step.create, self.clients, desired))
            if current.action in (Action.CREATE, Action.REPLACE) and (parent_recreated or current.action is Action.REPLACE):
                self.recreated.add(step.name)
            self.known[step.name] = self._verify(step, desired)
        finally:
            if lane:
                lane.release()
        # The action actually taken: a dependent of a replaced resource planned as noop reports its create.
        return Outcome(current if change.action is Action.NOOP else change, Status.APPLIED,
                       seconds=time.monotonic() - started)

    def _run(self, change: Change) -> Outcome:
        if self.on_event:
            self.on_event("start", change, None)
        step = self.steps.get(change.step)
        if step is not None:
            on_note = self.on_note
            step.note = (lambda message: on_note(step.name, message)) if on_note else _silent
            step.poll_seconds = self.timing.poll * 6  # 30 s on Azure, 0.3 s on the local cloud
        try:
            outcome = self._apply_one(change)
        except Waiting as exc:  # the step stopped a bounded wait: left for the next run, not a failure
            outcome = Outcome(change, Status.WAITING, str(exc))
        except ProvisionerError as exc:
            outcome = Outcome(change, Status.FAILED, str(exc))
        except Exception as exc:  # a bug in a step must not take the other branches down
            outcome = Outcome(change, Status.FAILED, f"{type(exc).__name__}: {exc}")
        if self.on_event:
            self.on_event("done", outcome.change, outcome)
        return outcome

    def run(self, plan: Plan, known: Mapping[str, dict | None]) -> list[Outcome]:
        """Apply the plan: each step starts once its dependencies are done; failures skip dependents.
        Ctrl-C: the first stops starting steps and waits for those in flight (an ARM operation cannot be
        taken back); a second stops waiting (the operations continue in Azure; the next run re-attaches)."""
        self.known = dict(known)
        self._planned_known = dict(known)
        changes = {c.step: c for c in plan.changes}
        pending = [name for name in self.graph.order if name in changes]
        done: dict[str, Outcome] = {}
        running: dict[Future[Outcome], str] = {}
        pool = ThreadPoolExecutor(max_workers=self.workers)
        with _SigintCounter() as interrupts:
            try:
                while pending or running:
                    if interrupts.count:
                        self._stop_starting(pending, changes, done, list(running.values()), interrupts)
                        if interrupts.count > 1:
                            self._announce(interrupts, list(running.values()))
                            for name in running.values():
                                done[name] = Outcome(changes[name], Status.SKIPPED, ABANDONED)
                            running.clear()
                            break
                    for name in list(pending):
                        needs = [d for d in self.graph.deps.get(name, ()) if d in changes]
                        held = next((d for d in needs if d in done and done[d].status is Status.WAITING), None)
                        if any(d in done and done[d].status in (Status.FAILED, Status.SKIPPED) for d in needs):
                            failed = next(d for d in needs if d in done and done[d].status in (Status.FAILED, Status.SKIPPED))
                            done[name] = Outcome(changes[name], Status.SKIPPED, f"skipped: {failed} did not succeed")
                            pending.remove(name)
                            if self.on_event:
                                self.on_event("done", changes[name], done[name])
                        elif held and changes[name].action is not Action.NOOP and all(d in done for d in needs):
                            # Waits with what it needs; a NOOP dependent still runs (it is only re-checked).
                            done[name] = Outcome(changes[name], Status.WAITING, waits_on(held, done[held].error or ""))
                            pending.remove(name)
                            if self.on_event:
                                self.on_event("done", changes[name], done[name])
                        elif all(d in done for d in needs):
                            pending.remove(name)
                            running[pool.submit(self._run, changes[name])] = name
                    if not running:
                        continue
                    # A timeout, so a Ctrl-C (counted by the handler) is acted on within a fraction of a second.
                    finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in finished:
                        done[running.pop(future)] = future.result()
                # Children no env file declares go last, once every declared resource is in place.
                orphans = [c for c in plan.changes if c.collection is not None and c.action is Action.DELETE]
                if interrupts.count:
                    removed = [Outcome(c, Status.SKIPPED, NOT_STARTED) for c in orphans]
                else:
                    removed = list(pool.map(self._run, orphans))
            finally:
                # After a second Ctrl-C nobody waits for the workers; their operations go on in Azure.
                pool.shutdown(wait=interrupts.count < 2, cancel_futures=True)
        self.interrupted = interrupts.count
        return [done[name] for name in self.graph.order if name in done] + removed

    def _stop_starting(self, pending: list[str], changes: dict[str, Change], done: dict[str, Outcome],
                       in_flight: list[str], interrupts: _SigintCounter) -> None:
        for name in pending:
            done[name] = Outcome(changes[name], Status.SKIPPED, NOT_STARTED)
        pending.clear()
        self._announce(interrupts, in_flight)

    def _announce(self, interrupts: _SigintCounter, in_flight: list[str]) -> None:
        # Read the count once: a press may land while the previous note is being printed.
        count = interrupts.count
        if count > interrupts.announced and self.on_interrupt:
            interrupts.announced = count
            self.on_interrupt(count, in_flight)


class _SigintCounter:
    """Counts Ctrl-C presses while applying instead of raising KeyboardInterrupt in the middle of a step
    (only the main thread can own the handler; elsewhere it counts nothing)."""

    def __init__(self) -> None:
        self.count = 0
        self.announced = 0
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1

    def __enter__(self) -> _SigintCounter:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        # Once interrupted, keep counting: a press that lands after the last step finished but before the
        # summary is printed must not become a KeyboardInterrupt that swallows the summary.
        if self._previous is not None and not self.count:
            signal.signal(signal.SIGINT, self._previous)
