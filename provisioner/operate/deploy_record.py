"""The rollback record kept as tags on the site, and the rollback window; pure (no SDK, no clock of its own).

A deploy records the image production ran before it (the rollback target); a rollback restores that image
and clears the target, so a second rollback never swaps the bad version back in (it says what the last
rollback did instead). The architecture document's "30-minute rollback window" (Production Safeguards,
Deployment Safety) is enforced: past it, `rollback` is refused unless asked for explicitly, because the
migrations a later deploy ran before its swap are only kept compatible with the previous version for that
long (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from provisioner.core.contract import TAG_AT, TAG_CURRENT, TAG_PREVIOUS

ROLLBACK_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Record:
    current: str | None = None  # the image production runs since the last deploy or rollback
    previous: str | None = None  # what rollback restores; None once a rollback has used it
    at: datetime | None = None  # when `current` went in

    @classmethod
    def from_tags(cls, tags: dict[str, Any] | None) -> Record:
        tags = tags or {}
        at = None
        if tags.get(TAG_AT):
            try:
                at = datetime.fromisoformat(str(tags[TAG_AT]).replace("Z", "+00:00"))
            except ValueError:
                at = None
        return cls(str(tags[TAG_CURRENT]) if tags.get(TAG_CURRENT) else None,
                   str(tags[TAG_PREVIOUS]) if tags.get(TAG_PREVIOUS) else None, at)

    def tags(self) -> dict[str, str]:
        """The tags to merge onto the site (an absent previous is removed separately: `cleared`)."""
        out = {}
        if self.current:
            out[TAG_CURRENT] = self.current
        if self.previous:
            out[TAG_PREVIOUS] = self.previous
        if self.at:
            out[TAG_AT] = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    @property
    def cleared(self) -> list[str]:
        """Tag names this record has no value for (removed from the site when it is written)."""
        return [name for name, value in ((TAG_PREVIOUS, self.previous),) if not value]


def after_deploy(image: str, production_before: str, now: datetime) -> Record:
    return Record(image, production_before or None, now)


def after_rollback(restored: str, now: datetime) -> Record:
    return Record(restored, None, now)


def ago(since: datetime, now: datetime) -> str:
    minutes = int((now - since).total_seconds() // 60)
    return f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"


def rollback_refusal(record: Record, production: str, now: datetime, outside_window: bool) -> str | None:
    """Why `rollback` must not run, or None. Never toggles forward; never acts on a stale record."""
    if not record.previous:
        if record.current:
            return (f"nothing to roll back to: production runs {record.current}"
                    + (f" since {record.tags()[TAG_AT]}" if record.at else "")
                    + " and no earlier version is recorded (a rollback already used it, or it was the first deploy);"
                    " to run another version, deploy it: provisioner deploy backend --image REPO:TAG")
        return ("no rollback target recorded on the site (no deploy by this tool since the record was introduced):"
                " deploy the version you want explicitly: provisioner deploy backend --image REPO:TAG")
    if record.current and production != record.current:
        return (f"production runs {production or '(no image)'}, not {record.current} as the last deploy recorded: "
                "it was changed outside provisioner deploy/rollback; deploy the version you want explicitly "
                f"(provisioner deploy backend --image {record.previous} to run the recorded previous one)")
    if record.at and now - record.at > ROLLBACK_WINDOW and not outside_window:
        return (f"the last deploy ({record.tags()[TAG_AT]}, {ago(record.at, now)}) is past the 30-minute rollback "
                f"window (architecture document, Deployment Safety): migrations run since may not suit "
                f"{record.previous} any more; check them, then pass --outside-window to roll back anyway, or deploy "
                "a fixed image")
    return None
