"""The Step contract every steps/* module implements: one Azure resource, its desired state and I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from provisioner.core.errors import ConfigProblem
from provisioner.core.model import PropertyChange, ResourceRef
from provisioner.engine.config import EnvironmentSpec
from provisioner.engine.diff import Rules
from provisioner.engine.fields import with_model

# What the reconciler knows about other steps when computing a desired state: step name -> observed body
# (None when that resource does not exist yet, so values derived from it are UNKNOWN in a plan).
Known = Mapping[str, dict | None]

# provisioningState values after which ARM accepts the next write.
TERMINAL = frozenset({"succeeded", "failed", "canceled", "cancelled"})


class Step:
    """One resource instance. Subclasses set the class attributes and implement read/create (update/delete)."""

    type: ClassVar[str]  # ARM resource type, e.g. Microsoft.Web/sites
    rules: ClassVar[Rules] = Rules()
    holds_data: ClassVar[bool] = False  # deleting or replacing loses user data: refused by default
    needs: ClassVar[tuple[str, ...]] = ()  # step names this one always needs to exist first (depends_on adds per env)
    # The SDK model class of the GET body (and where it sits in the body, e.g. "rules[]" for a list the step
    # assembles): its read-only fields are merged into `rules`, its writable ones must each be declared or
    # listed in `rules.not_managed` (tests/unit/test_field_accounting.py).
    model: ClassVar[Any] = None
    model_at: ClassVar[str] = ""
    # (path pattern, reason): writable fields of the model this step leaves to someone else. Never compared;
    # an update carries the observed value. Security settings never go here: declare them.
    not_managed: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """`rules` (a class attribute or a property) always includes the model's read-only paths."""
        super().__init_subclass__(**kwargs)
        # The names these had before issue 15: a step that still sets one would silently lose its edges.
        for old, new in (("dependencies", "needs"), ("waits_for", "needs_settled")):
            if old in cls.__dict__:
                raise TypeError(f"{cls.__name__}.{old} is now `{new}`")
        own = cls.__dict__.get("rules")
        if own is None:
            inherited = next(k.__dict__["rules"] for k in cls.__mro__ if "rules" in k.__dict__)
            if _wrapped(inherited):
                return
            own = inherited
        elif _wrapped(own):
            return
        getter: Callable[[Step], Rules] = own.fget if isinstance(own, property) and own.fget else _constant(own)

        def full(self: Step) -> Rules:
            mine = self.__dict__.get("_own_rules") or getter(self)
            if self.not_managed:  # a class attribute, or a property where it depends on the instance
                mine = mine.merged(Rules(not_managed=self.not_managed, exact=(), case_insensitive_keys=()))
            return with_model(mine, type(self).model, type(self).model_at)

        def assign(self: Step, value: Rules) -> None:  # test doubles set rules per instance
            self.__dict__["_own_rules"] = value

        wrapped = property(full, assign)
        wrapped.fget._with_model = True  # type: ignore[union-attr]
        setattr(cls, "rules", wrapped)  # noqa: B010 (a property over the ClassVar[Rules] declaration)


    # Step names whose resources must be *settled* (see `settled`) before this one is written: children of
    # a server that stays busy after its own operation has ended (PostgreSQL answers 409 ServerBusy).
    needs_settled: ClassVar[tuple[str, ...]] = ()
    # ARM ids under a CanNotDelete lock in this environment (set by the runner from the lock steps): deletes
    # under them are never planned, they are left for a person (provisioner.engine.locks).
    locked_scopes: frozenset[str] = frozenset()
    lock_ids: Mapping[str, str] = MappingProxyType({})  # scope (lower-cased) -> the lock's id: what a person lifts

    def __init__(self, env: EnvironmentSpec, name: str, resource_name: str):
        self.env = env
        self.name = name  # unique step name within an environment, e.g. "web_app" or "metric_alert:cpu"
        self.resource_name = resource_name
        # Progress of a long wait inside create/update ("SPF verified, DKIM checking, 4 min"): the executor
        # points it at the live display; a no-op otherwise.
        self.note: Callable[[str], None] = lambda message: None
        self.poll_seconds = 30.0  # pace of such a wait; the executor sets it from the target's timing

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @property
    def depends_on(self) -> tuple[str, ...]:
        return self.needs

    @property
    def lane(self) -> str | None:
        """Writes with the same lane key never run at the same time (e.g. children of one PG server)."""
        return None

    @property
    def ref(self) -> ResourceRef:
        raise NotImplementedError

    @property
    def resource_group(self) -> str:
        return self.env.resource_name("resource_group")

    def tags(self) -> dict[str, str]:
        return self.env.tags

    def settled(self, body: dict[str, Any]) -> bool:
        """Whether the live resource accepts writes now (pure). Default: a terminal provisioningState.
        Communication Services and Email report `Running` as their steady state (arm-examples
        communicationServices/2025-05-01/get.json, emailServices/2025-05-01/get.json)."""
        state = str((body.get("properties") or {}).get("provisioningState") or "succeeded").lower()
        if state == "running" and self.type.lower().startswith("microsoft.communication/"):
            return True
        return state in TERMINAL

    def gather(self, clients: Any, known: Known) -> None:
        """Read inputs Azure never returns in a resource body (a cache's access key, a password held in Key
        Vault) before `desired` runs; called in plan and again before apply. Most steps need nothing."""

    def precondition(self, known: Known) -> str | None:
        """What outside this run must happen before this step can be applied (a DNS delegation only another
        environment can create), or None. Pure like `desired` (inputs come from `known` or `gather`). A change
        whose precondition is unmet is planned as waiting: not applied, not a failure, re-checked next run."""
        return None

    def desired(self, known: Known) -> dict[str, Any]:
        """The wire-format body we want (ARM names). Pure: no I/O (inputs come from `known` or `gather`)."""
        raise NotImplementedError

    def read(self, clients: Any) -> dict[str, Any] | None:
        """The live body as GET returns it (wire format), or None if absent."""
        raise NotImplementedError

    def create(self, clients: Any, desired: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, clients: Any, desired: dict[str, Any], observed: dict[str, Any], changes: tuple[PropertyChange, ...]) -> None:
        """Default: a full PUT of the desired body, which is create-or-update in ARM."""
        self.create(clients, desired)

    def delete(self, clients: Any) -> None:
        raise NotImplementedError


def _constant(value: Rules) -> Callable[[Step], Rules]:
    return lambda self: value


def _wrapped(attr: Any) -> bool:
    return bool(getattr(getattr(attr, "fget", None), "_with_model", False))


def check_section(module: Any, env: EnvironmentSpec) -> list[ConfigProblem]:
    """Run a step module's optional `validate(env)` hook (capability and naming rules)."""
    hook = getattr(module, "validate", None)
    return list(hook(env)) if hook else []
