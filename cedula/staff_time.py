"""The staff's clock: every time the console prints is Bogotá time (TIME_ZONE), day first, with seconds (lookups are
seconds apart). One format and one helper, so no screen prints UTC beside Bogotá; models and display both read it."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

STAFF_DATETIME = "%d/%m/%Y %H:%M:%S"


def format_staff_time(moment: dt.datetime | None) -> str:
    """A moment in Bogotá time as staff read it; "—" for none."""
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime(STAFF_DATETIME)
