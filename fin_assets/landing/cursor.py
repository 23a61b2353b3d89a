"""Which landed objects a sensor tick has not seen yet: a cursor that never skips a file.

Object stores give last-modified times with one-second resolution, and an object's time is when
its upload started, so a file can appear in a listing after files with later times (a slow
upload "lands late"), and many files can share one second. The cursor therefore keeps:

- `watermark`: the newest last-modified time (epoch seconds) seen in any listing;
- `seen`: key → (last_modified, size, etag) of every object seen with
  last_modified >= watermark - OVERLAP_SECONDS (the safety overlap);
- `deferred`: key → etag of objects seen but not processed yet (their dates are not
  partitions yet, their partitions are busy, they have a temporary name, ...); they are offered
  again on every tick whatever their time;
- `reasons`: key → why each deferred object waits (shown to operators, not used to decide).

A tick lists the landing prefix once. An object is a candidate when its time is within the
overlap (or it is deferred); a candidate is new unless `seen` holds the same key with the same
etag. The etag of a candidate is looked up (one HEAD on S3) only when its (time, size) differs
from what `seen` recorded, so a quiet listing costs nothing more (a tick that finds nothing
new lists again for a few seconds: fin_assets.landing.watch). A file is missed only if its
upload started more than OVERLAP_SECONDS before the newest file already seen; the cursor is
JSON, stored by Dagster with the sensor, so it survives daemon restarts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from fin_assets.objects.store import ObjectInfo

OVERLAP_SECONDS = 300.0


@dataclass(frozen=True)
class SeenObject:
    last_modified: float
    size: int
    etag: str


@dataclass(frozen=True)
class LandedFile:
    """A landing object a tick has not processed yet."""

    key: str
    etag: str
    last_modified: float

    @property
    def run_key(self) -> str:
        """Dagster run key: a new version of a key (new etag) is a new run."""
        return f"{self.key}@{self.etag}"


@dataclass(frozen=True)
class LandingCursor:
    watermark: float = 0.0
    seen: Mapping[str, SeenObject] = field(default_factory=dict)
    deferred: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> LandingCursor:
        """The cursor of a previous tick (None or "" for the first tick)."""
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            watermark=data["watermark"],
            seen={key: SeenObject(*values) for key, values in data["seen"].items()},
            deferred=data["deferred"],
            reasons=data.get("reasons", {}),
        )

    def to_json(self) -> str:
        seen = {k: [s.last_modified, s.size, s.etag] for k, s in sorted(self.seen.items())}
        return json.dumps(
            {
                "watermark": self.watermark,
                "seen": seen,
                "deferred": dict(sorted(self.deferred.items())),
                "reasons": dict(sorted(self.reasons.items())),
            }
        )


@dataclass(frozen=True)
class Tick:
    """The new files of one listing, and what the cursor becomes once they are handled."""

    new_files: tuple[LandedFile, ...]
    watermark: float
    candidates: Mapping[str, SeenObject]

    def next_cursor(
        self, deferred: Mapping[LandedFile, str] | None = None, moved: Iterable[str] = ()
    ) -> LandingCursor:
        """The cursor after the tick: `deferred` files (with why they wait) are offered again
        on the next tick; `moved` keys (quarantined) are forgotten, so a new object at such a
        key is looked up even if it has the old one's time and size."""
        deferred = deferred or {}
        waiting = {f.key: f.etag for f in deferred}
        horizon = self.watermark - OVERLAP_SECONDS
        gone = set(moved)
        seen = {
            key: entry
            for key, entry in self.candidates.items()
            if key not in waiting and key not in gone and entry.last_modified >= horizon
        }
        reasons = {f.key: reason for f, reason in deferred.items()}
        return LandingCursor(self.watermark, seen, waiting, reasons)


def plan_tick(
    cursor: LandingCursor, listing: Iterable[ObjectInfo], etag_of: Callable[[str], str]
) -> Tick:
    """The files of `listing` that `cursor` has not seen, oldest first (then by key).

    `etag_of(key)` returns an object's etag; an object deleted between the listing and that
    lookup (FileNotFoundError) is left out: it no longer exists to be processed.
    """
    objects = list(listing)
    horizon = cursor.watermark - OVERLAP_SECONDS
    candidates: dict[str, SeenObject] = {}
    new_files = []
    for info in objects:
        modified = info.last_modified.timestamp()
        if modified < horizon and info.key not in cursor.deferred:
            continue
        previous = cursor.seen.get(info.key)
        unchanged = previous is not None and previous.last_modified == modified
        if unchanged and previous.size == info.size:
            etag = previous.etag
        else:
            try:
                etag = etag_of(info.key)
            except FileNotFoundError:
                continue
        candidates[info.key] = SeenObject(modified, info.size, etag)
        if previous is None or previous.etag != etag:
            new_files.append(LandedFile(info.key, etag, modified))
    watermark = max([cursor.watermark, *(i.last_modified.timestamp() for i in objects)])
    new_files.sort(key=lambda f: (f.last_modified, f.key))
    return Tick(new_files=tuple(new_files), watermark=watermark, candidates=candidates)
