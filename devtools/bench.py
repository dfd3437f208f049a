"""What every bench shares: the smoke size (BENCH_SMOKE=1), the check that a response is the page it meant to time,
and the second factor of its staff (a TOTP code computed the way an authenticator app does)."""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

# CI runs every bench once at a tiny size (devtools/bench_smoke.py): the figures mean nothing there, the checks do.
SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"


def sized(full: T, smoke: T) -> T:
    """`full` for a real run, `smoke` under BENCH_SMOKE=1."""
    return smoke if SMOKE else full


class WrongPage(SystemExit):
    """A response that is not the page the bench meant to time: timing it would measure something else."""


def expect_page(label: str, status: int, body: bytes | str, marker: str, *, expected_status: int = 200) -> None:
    """Stop the bench unless the response has the expected status and carries `marker` (a string only that page has).

    A login or second-factor redirect, an error page or an empty body all answer fast: a bench that timed them would
    report a fast console that nobody can use (the load bench timed 449 redirects out of 470 requests that way).
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    if status != expected_status:
        raise WrongPage(f"{label}: HTTP {status}, expected {expected_status} (not the page this bench times)")
    if marker not in text:
        raise WrongPage(f"{label}: HTTP {status} without {marker!r} in the body (not the page this bench times)")


def totp_code(key_hex: str, *, step: int = 30, t0: int = 0, digits: int = 6) -> str:
    """The current code of a TOTP device (django-otp's own algorithm: what the staff member's phone shows)."""
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex), step=step, t0=t0, digits=digits):0{digits}d}"
