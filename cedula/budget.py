"""The operator's promise to the registry beyond the gap: a daily budget and quiet hours (pure: no Django).

Both are read in Bogotá time (settings.TIME_ZONE). In quiet hours and once the day's budget is spent only interactive
lookups run (a person registering is never made to wait); everything else waits for the next window.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

_QUIET = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?\s*$")


@dataclass(frozen=True)
class QuietHours:
    """A daily window [start, end) in local time; it may cross midnight (22:00-06:00)."""

    start: dt.time
    end: dt.time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: dt.datetime) -> bool:
        t = local.timetz().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def next_boundary(self, local: dt.datetime) -> dt.datetime:
        """The next time (> local) at which the window opens or closes."""
        candidates = []
        for day in (0, 1):
            date = (local + dt.timedelta(days=day)).date()
            for t in (self.start, self.end):
                at = dt.datetime.combine(date, t, tzinfo=local.tzinfo)
                if at > local:
                    candidates.append(at)
        return min(candidates)


def parse_quiet_hours(text: str) -> QuietHours | None:
    """ "22-06" or "22:30-06:00" -> QuietHours; "" -> None. Raises ValueError on anything else."""
    if not text.strip():
        return None
    match = _QUIET.match(text)
    if not match:
        raise ValueError(f"REGISTRY_QUIET_HOURS must look like 22-06 or 22:30-06:00, not {text!r}.")
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"REGISTRY_QUIET_HOURS has an impossible time: {text!r}.")
    start, end = dt.time(h1, m1), dt.time(h2, m2)
    if start == end:
        raise ValueError(f"REGISTRY_QUIET_HOURS is an empty window: {text!r}.")
    return QuietHours(start=start, end=end)


def local_midnight_after(local: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=local.tzinfo)


def local_day_start(local: dt.datetime) -> dt.datetime:
    return dt.datetime.combine(local.date(), dt.time(0), tzinfo=local.tzinfo)


def bulk_allowed(*, local: dt.datetime, used_today: int, max_per_day: int, quiet: QuietHours | None) -> bool:
    """May a non-interactive lookup run now?"""
    if quiet is not None and quiet.contains(local):
        return False
    return not (max_per_day and used_today >= max_per_day)


def bulk_reopens_at(
    *, local: dt.datetime, used_today: int, max_per_day: int, quiet: QuietHours | None
) -> dt.datetime | None:
    """When non-interactive lookups may run again (None: they may now)."""
    at = local
    used = used_today
    for _ in range(4):
        if max_per_day and used >= max_per_day:
            at, used = local_midnight_after(at), 0
            continue
        if quiet is not None and quiet.contains(at):
            at = quiet.next_boundary(at)
            continue
        return None if at == local else at
    return at


def finish_time(
    *,
    local: dt.datetime,
    lookups: int,
    interval_s: float,
    used_today: int,
    max_per_day: int,
    quiet: QuietHours | None,
) -> dt.datetime:
    """When `lookups` non-interactive lookups, one every `interval_s`, are done, starting at `local`, within the
    budget and outside quiet hours. Walks window by window (a day at most per step), never lookup by lookup."""
    at = local
    left = float(lookups)
    used = float(used_today)
    interval = max(interval_s, 1e-3)
    for _ in range(100_000):
        if left <= 0:
            return at
        day = at.date()
        if max_per_day and used >= max_per_day:
            at = local_midnight_after(at)
        elif quiet is not None and quiet.contains(at):
            at = quiet.next_boundary(at)
        else:
            midnight = local_midnight_after(at)
            window_end = min(midnight, quiet.next_boundary(at)) if quiet is not None else midnight
            capacity = (window_end - at).total_seconds() / interval
            if max_per_day:
                capacity = min(capacity, max_per_day - used)
            if left <= capacity:
                return at + dt.timedelta(seconds=left * interval)
            left -= capacity
            used += capacity
            if max_per_day and used >= max_per_day:
                continue  # the budget ran out before the window did: the next turn jumps to midnight
            at = window_end
        if at.date() != day:
            used = 0.0  # a new (Bogotá) day, a new budget
    return at


def daily_capacity(*, interval_s: float, max_per_day: int, quiet: QuietHours | None) -> int:
    """Non-interactive lookups a whole day allows (what an ETA plans with)."""
    quiet_s = 0.0
    if quiet is not None:
        start = quiet.start.hour * 3600 + quiet.start.minute * 60
        end = quiet.end.hour * 3600 + quiet.end.minute * 60
        quiet_s = (end - start) % 86400
    by_gap = math.floor((86400 - quiet_s) / max(interval_s, 1e-3))
    return min(by_gap, max_per_day) if max_per_day else by_gap
