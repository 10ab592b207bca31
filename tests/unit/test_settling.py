"""Settling and busy answers: which ARM errors are retried, and when a PostgreSQL server is settled."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from provisioner.azure import call, is_transient
from provisioner.errors import AzureCallError


class _Resp:
    def __init__(self, status: int, code: str, message: str):
        self.status_code = status
        self.reason = "Conflict"
        self.headers: dict[str, str] = {}
        self._body = ('{"error": {"code": "%s", "message": "%s"}}' % (code, message)).encode()
        self.content_type = "application/json"
        self.request = None

    def text(self, encoding: str | None = None) -> str:
        return self._body.decode()

    def body(self) -> bytes:
        return self._body


def _raise(status: int, code: str, message: str) -> Any:
    def op() -> None:
        raise HttpResponseError(response=_Resp(status, code, message))  # type: ignore[arg-type]
    return op


@pytest.mark.parametrize("code", ["ServerBusy", "ServerIsBusy", "AnotherOperationInProgress", "OperationInProgress"])
def test_busy_codes_are_transient(code):
    with pytest.raises(AzureCallError) as err:
        call(_raise(409, code, "The server is busy."))
    assert err.value.retryable and err.value.code == code


def test_a_plain_conflict_is_permanent_and_fails_at_once():
    # Before: "Conflict" was in TRANSIENT_CODES and was retried until the deadline.
    with pytest.raises(AzureCallError) as err:
        call(_raise(409, "Conflict", "Cannot complete the operation because the site will exceed the number of slots."))
    assert not err.value.retryable


def test_a_conflict_worded_as_in_progress_stays_transient():
    assert is_transient(409, "Conflict", "Cannot modify this site because another operation is in progress.")
    assert not is_transient(409, "Conflict", "The name is already taken.")
    assert not is_transient(409, "RoleAssignmentExists", "The role assignment already exists.")
    assert is_transient(429, "TooManyRequests", "")
