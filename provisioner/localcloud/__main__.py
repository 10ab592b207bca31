"""`python -m provisioner.localcloud`: run the local cloud standalone in the foreground."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .cloud import ServeError, serve


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 on a usage error; 2 means "changes pending" to the provisioner's callers.
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(prog="python -m provisioner.localcloud", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-file", type=Path, default=None, help="JSON state (ARM id -> body)")
    parser.add_argument("--request-log", type=Path, default=None, help="JSON-lines request log")
    parser.add_argument("--latency", choices=("fast", "realistic"), default="fast")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies realistic durations")
    parser.add_argument("--faults-file", type=Path, default=None, help="JSON list of fault rules")
    parser.add_argument("--unhealthy-image", action="append", default=[], metavar="SUBSTRING",
                        help="sites whose image contains SUBSTRING answer /health with 503 (repeatable)")
    parser.add_argument("--tenant-id", default="00000000-0000-0000-0000-000000000000",
                        help="the directory the subscription belongs to")
    parser.add_argument("--client-ip", default="203.0.113.10", help="the address the Key Vault firewall sees")
    args = parser.parse_args(argv)
    try:
        serve(args.port, args.state_file, args.request_log, args.latency, args.time_scale, args.faults_file, args.host,
              args.unhealthy_image, args.tenant_id, args.client_ip)
    except ServeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
