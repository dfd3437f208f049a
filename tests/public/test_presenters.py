"""The Spanish, Bogotá-time wording of the status card (pure: no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from ops.accounts.presenters import format_datetime, format_moment, visible_panels

NOW = dt.datetime(2025, 3, 14, 17, 0, tzinfo=dt.UTC)  # 12:00 p. m. in Bogotá


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (dt.datetime(2025, 3, 14, 18, 5, tzinfo=dt.UTC), "hoy a la 1:05 p. m."),
        (dt.datetime(2025, 3, 14, 22, 30, tzinfo=dt.UTC), "hoy a las 5:30 p. m."),
        # 02:00 UTC on the 15th is still the 14th in Bogotá (UTC-5).
        (dt.datetime(2025, 3, 15, 2, 0, tzinfo=dt.UTC), "hoy a las 9:00 p. m."),
        (dt.datetime(2025, 3, 15, 5, 0, tzinfo=dt.UTC), "mañana a las 12:00 a. m."),
        (dt.datetime(2025, 3, 15, 17, 0, tzinfo=dt.UTC), "mañana a las 12:00 p. m."),
        (dt.datetime(2025, 3, 16, 14, 45, tzinfo=dt.UTC), "el 16/03/2025 a las 9:45 a. m."),
    ],
)
def test_moments_read_in_bogota_time(moment, text):
    assert format_moment(moment, now=NOW) == text


def test_dates_and_times_read_day_first():
    assert format_datetime(dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC)) == "01/01/2025 10:04 p. m."


@pytest.mark.parametrize(
    ("status", "checking", "has_cedula", "checked", "panels"),
    [
        (None, False, False, False, ["no_cedula"]),
        (None, False, True, False, ["never_checked"]),
        ("pending", True, True, False, ["checking"]),
        ("active", True, True, True, ["checking", "previous", "active", "last_checked"]),
        ("not_found", True, True, True, ["checking", "previous", "not_found", "last_checked"]),
        ("error", True, True, True, ["checking", "last_checked"]),
        ("error", False, True, True, ["error", "last_checked"]),
        ("cancelled", False, True, True, ["cancelled", "last_checked"]),
        ("withdrawn", False, True, False, ["never_checked"]),
        ("withdrawn", True, True, False, ["checking"]),
    ],
)
def test_the_card_shows_the_panels_of_its_state(status, checking, has_cedula, checked, panels):
    assert visible_panels(status=status, checking=checking, has_cedula=has_cedula, checked=checked) == panels
