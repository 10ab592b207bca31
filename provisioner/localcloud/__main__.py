"""`python -m provisioner.localcloud`: run the local cloud standalone in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path

from .cloud import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m provisioner.localcloud", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-file", type=Path, default=None, help="JSON state (ARM id -> body)")
    parser.add_argument("--request-log", type=Path, default=None, help="JSON-lines request log")
    parser.add_argument("--latency", choices=("fast", "realistic"), default="fast")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies realistic durations")
    parser.add_argument("--faults-file", type=Path, default=None, help="JSON list of fault rules")
    parser.add_argument("--tenant-id", default="00000000-0000-0000-0000-000000000000",
                        help="the directory the subscription belongs to")
    parser.add_argument("--client-ip", default="203.0.113.10", help="the address the Key Vault firewall sees")
    args = parser.parse_args(argv)
    serve(args.port, args.state_file, args.request_log, args.latency, args.time_scale, args.faults_file, args.host,
          args.tenant_id, args.client_ip)


if __name__ == "__main__":
    main()
