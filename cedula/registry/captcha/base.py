"""What every captcha solver shares: the error (with the solver's own code), the messages staff read for each code,
the solver's manners (how long to wait before polling, between polls, after "no slot" and "no balance"), and the
`none` solver.

No Django and no Playwright in this package: the registry client hands in the configuration it read from settings.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


class CaptchaError(Exception):
    """The solver could not produce a token (bad key, refused task, no answer in time, unreachable).

    `code` is the solver's own error code (ERROR_ZERO_BALANCE, ...) or ours ("unreachable", "no_solver", "timeout"):
    cedula.registry.failures.solver_cause tells from it whether the system, not this solve, failed."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


# The solver's codes, as 2captcha and the createTask family spell them, in words staff understand.
MESSAGES: dict[str, str] = {
    "ERROR_ZERO_BALANCE": "La cuenta del resolvedor de captcha no tiene saldo.",
    "ERROR_WRONG_USER_KEY": "La clave del resolvedor de captcha (CAPTCHA_API_KEY) está vacía o mal escrita.",
    "ERROR_KEY_DOES_NOT_EXIST": "El resolvedor de captcha no reconoce la clave CAPTCHA_API_KEY.",
    "ERROR_KEY_DENIED_ACCESS": "El resolvedor de captcha negó el acceso a esta clave.",
    "ERROR_IP_NOT_ALLOWED": "El resolvedor de captcha no acepta peticiones desde esta dirección IP.",
    "ERROR_IP_BANNED": "El resolvedor de captcha bloqueó esta dirección IP.",
    "IP_BANNED": "El resolvedor de captcha bloqueó esta dirección IP.",
    "ERROR_ACCOUNT_SUSPENDED": "La cuenta del resolvedor de captcha está suspendida.",
    "ERROR_NO_SLOT_AVAILABLE": "El resolvedor de captcha no tiene capacidad libre en este momento.",
    "ERROR_CAPTCHA_UNSOLVABLE": "El resolvedor no pudo resolver el captcha.",
    "ERROR_GOOGLEKEY": "El resolvedor rechazó la clave del sitio del captcha.",
    "ERROR_PAGEURL": "El resolvedor rechazó la dirección de la página.",
    "ERROR_BAD_PARAMETERS": "El resolvedor rechazó los parámetros de la tarea.",
    "ERROR_WRONG_CAPTCHA_ID": "El resolvedor no conoce la tarea consultada.",
    "ERROR_NO_SUCH_CAPCHA_ID": "El resolvedor no conoce la tarea consultada.",
    "ERROR_NO_SUCH_METHOD": "El resolvedor no ofrece este tipo de captcha.",
    "ERROR_SERVICE_UNAVAILABLE": "El servicio del resolvedor de captcha no está disponible.",
    "ERROR_INTERNAL_SERVER_ERROR": "El servicio del resolvedor de captcha falló por su cuenta.",
    "unreachable": "No se pudo contactar al resolvedor de captcha.",
    "timeout": "El resolvedor de captcha no entregó la solución a tiempo.",
    "no_solver": "La página pide captcha y no hay resolvedor configurado.",
}


def solver_error(code: str, detail: str = "") -> CaptchaError:
    """The CaptchaError for a solver code: its Spanish message, then the service's own code (what its support asks
    for) and any detail. Unknown codes are named as they came."""
    message = MESSAGES.get(code, f"El resolvedor de captcha respondió {code}.")
    said = [part for part in (code if code.startswith(("ERROR_", "IP_")) else "", detail) if part]
    return CaptchaError(f"{message} ({'; '.join(said)})" if said else message, code)


@dataclass(frozen=True)
class Manners:
    """How the services ask to be polled (2captcha's documentation; CapMonster bans eager clients for 10 minutes):
    the first poll 15-20 s after submitting, then at least 5 s apart; 5 s after ERROR_NO_SLOT_AVAILABLE; no call
    for 60 s after ERROR_ZERO_BALANCE. Settings, so tests can scale them down."""

    first_poll_s: float = 15.0
    poll_s: float = 5.0
    no_slot_wait_s: float = 5.0
    zero_balance_wait_s: float = 60.0
    request_timeout_s: float = 15.0


@dataclass(frozen=True)
class Solved:
    """A token as the solver returned it; `task_id` names it for a report of a refused token."""

    token: str
    task_id: str
    solved_at: float  # time.monotonic() when it arrived: its age decides whether it may still be sent
    solve_s: float  # how long the solve took (the pipeline sizes itself on it)

    def age(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.solved_at


class CaptchaSolver:
    """No solver: a page that asks for a captcha ends the lookup as error/captcha."""

    name = "none"

    async def solve(self, *, site_key: str, page_url: str, timeout_s: float) -> Solved:
        raise solver_error("no_solver")

    async def solve_recaptcha_v2(self, *, site_key: str, page_url: str, timeout_s: float) -> str:
        return (await self.solve(site_key=site_key, page_url=page_url, timeout_s=timeout_s)).token

    async def report_bad(self, solved: Solved) -> bool:
        """Tell the service the page refused this token (where its API allows it). True when it was told."""
        return False

    async def get_balance(self) -> float:
        """The account's balance in USD: a free call, used by the probe and the balance schedule."""
        raise solver_error("no_solver")
