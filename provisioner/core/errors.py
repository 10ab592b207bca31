"""The error tree: each class knows its exit code and whether retrying can help."""

from __future__ import annotations

from dataclasses import dataclass


class ProvisionerError(Exception):
    exit_code = 1
    retryable = False

    def __str__(self) -> str:
        # Every message that reaches a person goes through here: an SDK error may quote a request body.
        from provisioner.core.redact import scrub

        return scrub(super().__str__())


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    key: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        from provisioner.core.redact import scrub  # a bad value quoted back may be a pasted credential

        return f"{self.file}: {self.key}: {scrub(self.message)}"


class ConfigError(ProvisionerError):
    """Invalid environment files; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class AzureCallError(ProvisionerError):
    """An SDK call failed; `code` is ARM's error code when there is one."""

    def __init__(self, message: str, code: str | None = None, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable


class NotConverged(ProvisionerError):
    """After applying, a re-read still differs from the desired state."""


class Waiting(ProvisionerError):
    """A precondition outside this run is not met yet (a delegation, a DNS check still running): the step is
    left for the next run. Not a failure: provision still exits 0. The message says what must happen."""

    exit_code = 0


class TargetError(ProvisionerError):
    """The target cloud could not be reached or configured (credentials, subscription, endpoint)."""
