"""Loads envs/common.toml + envs/<env>.toml into a frozen EnvironmentSpec; every error names file and key."""

from __future__ import annotations

import copy
import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from provisioner.core.errors import ConfigError, ConfigProblem

LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
ENVIRONMENTS = ("dev", "staging", "production")
FILE_KEY = "(file)"  # the key path of a problem with the whole file (missing, not TOML)
T = TypeVar("T", bound=BaseModel)


class SectionUnavailable(LookupError):
    """A check asked for a section that failed validation; its problems are already reported."""


class Section(BaseModel):
    """Base for every step module's config section: frozen, unknown keys are errors (typos)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RunLock(Section):
    """Where the run lock lives (docs/safety.md "One run at a time"): a blob lease in a bootstrap account that the
    run creates if it is missing, because the environment's own account may not exist yet on a first run."""

    resource_group: str = Field(default="fundrbolt-ops-rg", pattern=r"^[-\w._()]{1,89}[-\w_()]$")
    storage_account: str = Field(default="fundrboltopslocks", pattern=r"^[a-z0-9]{3,24}$")
    container: str = Field(default="provisioner-locks", pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    location: str | None = None  # default: the environment's location
    lease_seconds: int = Field(default=60, ge=15, le=60)  # Lease Blob: 15-60 s (an infinite lease never frees itself)
    renew_seconds: int = Field(default=15, ge=1, le=45)
    wait_seconds: int = Field(default=900, ge=0)  # how long a second run waits for the holder

    @model_validator(mode="after")
    def _renew_in_time(self) -> RunLock:
        if self.renew_seconds * 2 > self.lease_seconds:
            raise ValueError(f"renew_seconds ({self.renew_seconds}) must be at most half of lease_seconds "
                             f"({self.lease_seconds}): one failed renewal must not lose the lease")
        return self


class Core(Section):
    environment: str
    project: str = Field(pattern=r"^[a-z][a-z0-9]{1,15}$")
    location: str
    subscription_id: str | None = Field(default=None, pattern=r"^[0-9a-fA-F-]{36}$")
    # Optional pin: the tenant is learned from the subscription (runner.check_tenant refuses a different one).
    tenant_id: str | None = Field(default=None, pattern=r"^[0-9a-fA-F-]{36}$")
    naming: dict[str, str]
    tags: dict[str, str]
    run_lock: RunLock = RunLock()


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything one environment declares, with provenance so later checks can name file and key."""

    core: Core
    sections: Mapping[str, BaseModel | None]  # None: the section failed validation (partial loads only)
    origin: Mapping[str, str]  # dotted key -> file that set it
    files: tuple[str, ...]
    overrides: Mapping[str, str] = field(default_factory=dict)  # subscription/tenant given on the CLI

    @property
    def name(self) -> str:
        return self.core.environment

    @property
    def is_production(self) -> bool:
        return self.core.environment == "production"

    @property
    def location(self) -> str:
        return self.core.location

    @property
    def subscription_id(self) -> str:
        return self.overrides.get("subscription_id") or self.core.subscription_id or LOCAL_SUBSCRIPTION

    @property
    def tags(self) -> dict[str, str]:
        return {**self.core.tags, "Environment": self.core.environment}

    def resource_name(self, key: str) -> str:
        """The Azure name of a resource: the naming rule in common.toml, or the name written in the env file."""
        rule = self.core.naming.get(key)
        if rule is None:
            raise ConfigError([ConfigProblem(self.files[0], f"naming.{key}", "no naming rule for this resource")])
        try:
            return rule.format(project=self.core.project, env=self.core.environment)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError([ConfigProblem(self.where(f"naming.{key}"), f"naming.{key}", f"bad template: {exc}")]) from exc

    def section(self, key: str, model: type[T]) -> T:
        value = self.sections.get(key)
        if not isinstance(value, model):
            raise SectionUnavailable(key)
        return value

    def where(self, key: str) -> str:
        """The file a dotted key came from (the closest parent key that one file set)."""
        probe = key
        while probe:
            if probe in self.origin:
                return self.origin[probe]
            probe = probe.rpartition(".")[0]
        return self.files[-1]


def _merge(base: dict, over: dict, origin: dict, file: str, prefix: str = "") -> dict:
    """Deep-merge `over` into `base`; tables merge key by key, everything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            origin.setdefault(path, file)
            out[key] = _merge(out[key], value, origin, file, f"{path}.")
        else:
            out[key] = copy.deepcopy(value)
            _record(value, path, origin, file)
    return out


def _record(value: Any, path: str, origin: dict, file: str) -> None:
    origin[path] = file
    if isinstance(value, dict):
        for k, v in value.items():
            _record(v, f"{path}.{k}", origin, file)


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), FILE_KEY, "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), FILE_KEY, f"not valid TOML: {exc}")]) from None


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts)


def load_partial(
    env: str,
    sections: Mapping[str, type[BaseModel]],
    envs_dir: Path = Path("envs"),
    overrides: Mapping[str, str] | None = None,
    partial: bool = True,
) -> tuple[EnvironmentSpec, list[ConfigProblem]]:
    """Read and merge; sections that fail validation are None so later checks can still run."""
    common_path, env_path = envs_dir / "common.toml", envs_dir / f"{env}.toml"
    if env not in ENVIRONMENTS and not env_path.exists():
        raise ConfigError([ConfigProblem(str(env_path), FILE_KEY, f"unknown environment {env!r}{suggest(env, ENVIRONMENTS, ':')} "
                                                               f"(expected one of {', '.join(ENVIRONMENTS)})")])
    origin: dict[str, str] = {}
    raw: dict = {}
    files = []
    for path in (common_path, env_path):
        data = _read_toml(path)
        raw = _merge(raw, data, origin, str(path))
        files.append(str(path))
    problems: list[ConfigProblem] = []
    if raw.get("environment") != env:
        problems.append(ConfigProblem(str(env_path), "environment", f"must be {env!r} (the file's name), got {raw.get('environment')!r}"))

    core_fields = set(Core.model_fields)
    for key in raw:
        if key not in core_fields and key not in sections:
            problems.append(ConfigProblem(_where(origin, key + ".x", files), key,
                                          unknown_key(key, [*core_fields, *sections])))
    spec_core: Core | None = None
    parsed: dict[str, BaseModel | None] = {}
    targets: list[tuple[str, type[BaseModel]]] = [("", Core), *sections.items()]
    for name, target in targets:
        data = {k: v for k, v in raw.items() if k in core_fields} if not name else raw.get(name, {})
        try:
            value = target.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                key = ".".join(filter(None, (name, _loc(err["loc"]))))
                problems.append(ConfigProblem(origin.get(key) or _where(origin, key, files), key, _message(err, target)))
            value = None
        if not name:
            spec_core = value  # type: ignore[assignment]
        else:
            parsed[name] = value
    if spec_core is None:
        raise ConfigError(problems)
    spec = EnvironmentSpec(core=spec_core, sections=parsed, origin=origin, files=tuple(files),
                           overrides=dict(overrides or {}))
    if problems and not partial:
        raise ConfigError(problems)
    return spec, problems


def load(env: str, sections: Mapping[str, type[BaseModel]], envs_dir: Path = Path("envs"),
         overrides: Mapping[str, str] | None = None) -> EnvironmentSpec:
    """Read, merge and validate; raises ConfigError listing every problem at once."""
    return load_partial(env, sections, envs_dir, overrides, partial=False)[0]


def _where(origin: Mapping[str, str], key: str, files: list[str]) -> str:
    probe = key
    while probe:
        probe = probe.rpartition(".")[0]
        if probe in origin:
            return origin[probe]
    return files[-1]


def suggest(word: str, choices: typing.Iterable[str], lead: str = "") -> str:
    """'<lead> did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:  # an abbreviation: prod -> production
        close = [c for c in options if c.startswith(word)][:1]
    return f"{lead} did you mean {close[0]!r}?" if close else ""


def unknown_key(word: str, choices: typing.Iterable[str]) -> str:
    """The one wording for a key no schema knows, at any depth."""
    return f"unknown key (a typo?{suggest(word, choices)})"


def _model_at(model: Any, loc: tuple[Any, ...]) -> Any:
    """The pydantic model that holds the key at `loc` (None when a dict or list is in between)."""
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields or part not in fields:
            return None
        model = _inner_model(fields[part].annotation)
    return model


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, tuple, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _inner_model(arg)
            if found is not None:
                return found
    return None


def _message(err: Any, model: type[BaseModel]) -> str:
    """One wording for every layer: pydantic's phrasing rewritten into the style of our own checks."""
    kind, loc = err.get("type"), tuple(err.get("loc") or ())
    if kind == "extra_forbidden":
        holder = _model_at(model, loc[:-1])
        choices = list(getattr(holder, "model_fields", {}) or {})
        return unknown_key(str(loc[-1]) if loc else "", choices)
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    msg = msg.replace("Input should be", "should be")
    return msg[:1].lower() + msg[1:]
