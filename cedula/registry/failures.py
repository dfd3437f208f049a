"""Whose failure is it: the row's own, or the system's.

A failure that belongs to the row (this cedula's answer is malformed, this cedula's POST hung) spends the row's retry
budget. A failure that belongs to the system (the registry cannot be loaded, it blocks us, our captcha solver refuses
for its account or service, the page wants a captcha and no solver is configured) says nothing about the row: it opens
the gate for every lookup and leaves the row as it was (cedula.services.gate).

The registry client marks a system failure by setting `LookupResult.cause` to one of `Cause`; an empty cause is the
row's own. Pure: no Django, no Playwright.
"""

from __future__ import annotations

from enum import StrEnum


class Cause(StrEnum):
    """Why the system, not the row, failed. The values are stored (Breaker.cause) and exported (/metrics)."""

    REGISTRY_DOWN = "registry_down"  # the page itself cannot be loaded: refused, reset, empty, DNS, timeout, 5xx
    BLOCKED = "blocked"  # the WAF answered a block page instead of the form or the JSON
    SOLVER_BALANCE = "solver_balance"  # the solver account has no funds
    SOLVER_KEY = "solver_key"  # the solver rejects our key (wrong, missing, disabled, IP not allowed)
    SOLVER_UNAVAILABLE = "solver_unavailable"  # the solver service cannot be reached or answers with its own fault
    NO_SOLVER = "no_solver"  # the page demands a captcha and CAPTCHA_SOLVER is none


# Causes that a probe can clear by itself. The others wait for the configuration or for staff ("Probar ahora").
PROBED_CAUSES = frozenset({Cause.REGISTRY_DOWN, Cause.BLOCKED, Cause.SOLVER_BALANCE, Cause.SOLVER_UNAVAILABLE})


# Solver error codes, as 2captcha (in.php / res.php) and the createTask family (Anti-Captcha, CapMonster, CapSolver,
# 2captcha's v2 API) spell them, that belong to the system. Codes not listed here (unsolvable, bad parameters for this
# page) are a failed solve for one lookup, not an outage.
SOLVER_CODE_CAUSES: dict[str, Cause] = {
    "ERROR_ZERO_BALANCE": Cause.SOLVER_BALANCE,
    "ERROR_WRONG_USER_KEY": Cause.SOLVER_KEY,
    "ERROR_KEY_DOES_NOT_EXIST": Cause.SOLVER_KEY,
    "ERROR_KEY_DENIED_ACCESS": Cause.SOLVER_KEY,
    "ERROR_IP_NOT_ALLOWED": Cause.SOLVER_KEY,
    "ERROR_IP_BANNED": Cause.SOLVER_KEY,
    "ERROR_ACCOUNT_SUSPENDED": Cause.SOLVER_KEY,
    "IP_BANNED": Cause.SOLVER_KEY,
    "ERROR_NO_SUCH_METHOD": Cause.SOLVER_UNAVAILABLE,
    "ERROR_SERVICE_UNAVAILABLE": Cause.SOLVER_UNAVAILABLE,
    "ERROR_INTERNAL_SERVER_ERROR": Cause.SOLVER_UNAVAILABLE,
    "unreachable": Cause.SOLVER_UNAVAILABLE,  # ours: the HTTP call itself failed (DNS, refused, timeout, not JSON)
    "no_solver": Cause.NO_SOLVER,  # ours: a captcha with CAPTCHA_SOLVER=none
}


def solver_cause(code: str) -> Cause | None:
    """The system cause behind a solver error code, or None when the code is about one solve."""
    return SOLVER_CODE_CAUSES.get(code.strip())


def is_system(cause: str | None) -> bool:
    return bool(cause) and cause in Cause.__members__.values()
