"""The local cloud: an ARM-compatible HTTP server for tests, benchmarks and offline use (stdlib only)."""

from .cloud import LocalCloud, ServeError, serve

__all__ = ["LocalCloud", "ServeError", "serve"]
