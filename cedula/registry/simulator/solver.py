"""The stand-in's captcha solver service, both protocols a deployment may point CAPTCHA_API_URL at:

- 2captcha's classic API: GET/POST /in.php (method=userrecaptcha) -> task id; /res.php action=get -> the token or
  CAPCHA_NOT_READY, action=getbalance, action=reportbad; answers as JSON with json=1, else "OK|value" text.
- the createTask JSON protocol (Anti-Captcha, CapMonster, CapSolver, 2captcha v2): POST /createTask, /getTaskResult,
  /getBalance, /reportIncorrectRecaptcha with {"clientKey": ...}; errors as {"errorId": 1, "errorCode": ...}.

Like the real services: a solve takes `solve_delay_s`; a token is accepted by the page once, and only within
`token_life_s` of being solved (Google's two minutes, scaled down in tests); a token for another site key is never
accepted. `error` makes every call answer that code (getbalance answers 0 for ERROR_ZERO_BALANCE; an unsolvable
captcha is answered when the result is asked for, as the services do). Counters say what was asked and spent.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

BAD_KEY_CODES = ("ERROR_KEY_DOES_NOT_EXIST", "ERROR_WRONG_USER_KEY")
# The codes a stand-in can be told to answer (`registry_simulator --solver-error`, start_simulator(solver_error=)).
SOLVER_ERRORS = (
    "ERROR_ZERO_BALANCE",
    "ERROR_NO_SLOT_AVAILABLE",
    "ERROR_CAPTCHA_UNSOLVABLE",
    "ERROR_KEY_DOES_NOT_EXIST",
)
TASK_PATHS = ("/createTask", "/getTaskResult", "/getBalance", "/reportIncorrectRecaptcha")
CLASSIC_PATHS = ("/in.php", "/res.php")


@dataclass
class StandInSolver:
    site_key: str
    key: str
    solve_delay_s: float = 0.3
    token_life_s: float = 120.0
    error: str = ""
    balance: float = 10.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    tasks: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (ready at, token)
    issued: dict[str, float] = field(default_factory=dict)  # token -> solved at (monotonic), until used
    issued_ids: dict[str, str] = field(default_factory=dict)  # token -> task id, for reports
    # What was asked and spent: tasks created, tokens handed out, accepted by the page, refused (used, expired or
    # unknown), reported bad by the client.
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("tasks", "solved", "accepted", "refused", "reported"), 0)
    )

    # --- the page's side --------------------------------------------------------------------------------------------

    def redeem(self, token: str) -> bool:
        """Whether the page accepts this token: issued by us, for this site, unused, within its life. Used once."""
        with self.lock:
            solved_at = self.issued.pop(token, None)
            ok = solved_at is not None and time.monotonic() - solved_at <= self.token_life_s
            self.counts["accepted" if ok else "refused"] += 1
            return ok

    def demo_token(self) -> str:
        token = "demo-" + secrets.token_urlsafe(24)
        with self.lock:
            self.issued[token] = time.monotonic()
        return token

    # --- the service ------------------------------------------------------------------------------------------------

    def classic(self, path: str, params: dict[str, str]) -> tuple[bool, str]:
        """2captcha's in.php / res.php: (ok, value)."""
        if not params.get("key"):
            return False, "ERROR_WRONG_USER_KEY"
        if params["key"] != self.key:
            return False, "ERROR_KEY_DOES_NOT_EXIST"
        action = params.get("action", "")
        if action == "getbalance":
            # 2captcha answers an empty account's balance as 0, not as an error.
            if self.error in BAD_KEY_CODES:
                return False, self.error
            return True, f"{0.0 if self.error == 'ERROR_ZERO_BALANCE' else self.balance:.5f}"
        if action == "reportbad":
            return self._report(params.get("id", ""))
        if self.error and not (self.error == "ERROR_CAPTCHA_UNSOLVABLE" and path == "/in.php"):
            return False, self.error
        if path == "/in.php":
            if params.get("method") != "userrecaptcha":
                return False, "ERROR_BAD_PARAMETERS"
            if not params.get("googlekey") or not params.get("pageurl"):
                return False, "ERROR_GOOGLEKEY"
            return True, self._create(params["googlekey"])
        if action != "get":
            return False, "ERROR_BAD_PARAMETERS"
        return self._result(params.get("id", ""), not_ready="CAPCHA_NOT_READY")

    def task_api(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The createTask family: the JSON answer."""
        key = payload.get("clientKey")
        if not key:
            return _task_error("ERROR_WRONG_USER_KEY")
        if key != self.key:
            return _task_error("ERROR_KEY_DOES_NOT_EXIST")
        if path == "/getBalance":
            if self.error in BAD_KEY_CODES:
                return _task_error(self.error)
            return {"errorId": 0, "balance": 0.0 if self.error == "ERROR_ZERO_BALANCE" else self.balance}
        if path == "/reportIncorrectRecaptcha":
            ok, value = self._report(str(payload.get("taskId", "")))
            return {"errorId": 0, "status": "success"} if ok else _task_error(value)
        if self.error and not (self.error == "ERROR_CAPTCHA_UNSOLVABLE" and path == "/createTask"):
            return _task_error(self.error)
        if path == "/createTask":
            task = payload.get("task") or {}
            if not isinstance(task, dict) or "recaptchav2" not in str(task.get("type", "")).lower():
                return _task_error("ERROR_TASK_NOT_SUPPORTED")
            if not task.get("websiteKey") or not task.get("websiteURL"):
                return _task_error("ERROR_RECAPTCHA_INVALID_SITEKEY")
            return {"errorId": 0, "taskId": int(self._create(str(task["websiteKey"])))}
        ok, value = self._result(str(payload.get("taskId", "")), not_ready="")
        if not ok:
            return _task_error(value)
        if not value:
            return {"errorId": 0, "status": "processing"}
        return {"errorId": 0, "status": "ready", "solution": {"gRecaptchaResponse": value}}

    def _create(self, site_key: str) -> str:
        task_id = str(secrets.randbelow(10**11))
        # A token for another site's key is "solved" but the form will not accept it.
        token = ("sol-" if site_key == self.site_key else "wrong-") + secrets.token_urlsafe(32)
        with self.lock:
            self.tasks[task_id] = (time.monotonic() + self.solve_delay_s, token)
            self.counts["tasks"] += 1
        return task_id

    def _result(self, task_id: str, *, not_ready: str) -> tuple[bool, str]:
        with self.lock:
            task = self.tasks.get(task_id)
            if task is None:
                return False, "ERROR_WRONG_CAPTCHA_ID"
            ready_at, token = task
            if time.monotonic() < ready_at:
                return not not_ready, not_ready  # 2captcha says CAPCHA_NOT_READY as an error (status 0)
            del self.tasks[task_id]
            if self.error == "ERROR_CAPTCHA_UNSOLVABLE":
                return False, self.error
            if token.startswith("sol-"):
                self.issued[token] = time.monotonic()
            self.counts["solved"] += 1
            self.issued_ids[token] = task_id
        return True, token

    def _report(self, task_id: str) -> tuple[bool, str]:
        with self.lock:
            if task_id not in self.issued_ids.values():
                return False, "ERROR_WRONG_CAPTCHA_ID"
            self.counts["reported"] += 1
        return True, "OK_REPORT_RECORDED"


def _task_error(code: str) -> dict[str, Any]:
    return {"errorId": 1, "errorCode": code, "errorDescription": code}
