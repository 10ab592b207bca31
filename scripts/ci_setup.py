"""Print the one-time setup of the CI identities (docs/ci.md) for a subscription and a repository.

Usage: python scripts/ci_setup.py --subscription <id> --repo <org>/<repo>

Generated from ci/identities.toml, the file the workflow rehearsal grants from; review it, then run it as an Owner of
the subscription who may create app registrations (needs the az and gh CLIs, signed in).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provisioner.cli import ci_setup  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscription", default="<subscription-id>")
    parser.add_argument("--repo", default="<org>/<repo>", help="the GitHub repository, ORG/REPO")
    args = parser.parse_args(argv)
    print(ci_setup.az_script(ci_setup.load(ROOT / "ci"), args.subscription, args.repo), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
