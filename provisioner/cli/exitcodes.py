"""Exit codes: the one table the CLI, its --help and the README's "Exit codes" section are held to."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

# code -> meaning. tests/unit/test_exitcodes.py checks the README table against this, row by row.
MEANINGS: dict[int, str] = {
    EXIT_OK: "success: valid, no changes pending, converged, in sync (changes waiting on a precondition outside the "
             "run, such as a DNS delegation, are listed and do not count)",
    EXIT_ERROR: "error: invalid configuration, usage error (unknown option, bad value), credentials, "
                "permissions, unreachable endpoint, a failed or refused change",
    EXIT_CHANGES: "changes pending (`plan`, `provision --dry-run`: provision would apply them, or they are left for a "
                  "person with a fix line), drift present (`drift`) or a recovery target missed (`drill`); nothing "
                  "else exits 2",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C (`provision` prints what was applied before it stopped; `drill` deletes its "
                      "scratch server first)",
}


def epilog() -> str:
    return "Exit codes: " + "; ".join(f"{code} {text}" for code, text in MEANINGS.items()) + "."
