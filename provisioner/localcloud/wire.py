"""What an ARM request and its answer are inside the local cloud: the leaf every layer may import."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .faults import Fault


@dataclass
class Request:
    method: str
    path: str  # canonical path, no query
    query: dict[str, str]
    body: bytes
    caller: str
    correlation_id: str
    client_request_id: str
    api_version: str
    fault: Fault | None = None  # an lro_status fault to apply to the operation this request starts


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    write: bool = False
    delay: float = 0.0  # realistic latency to add before answering (outside the lock)
