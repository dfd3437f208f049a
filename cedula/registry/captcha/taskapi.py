"""The createTask / getTaskResult / getBalance JSON protocol shared by Anti-Captcha, CapMonster Cloud, CapSolver and
2captcha's v2 API: POST {"clientKey", ...} to {api_url}/<method>; errors come as {"errorId": >0, "errorCode"}."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cedula.registry.captcha.base import Solved, solver_error
from cedula.registry.captcha.http import call_json
from cedula.registry.captcha.polite import PoliteSolver

# The reCAPTCHA v2 task type without a proxy, as each service spells it.
TASK_TYPES = {
    "anticaptcha": "RecaptchaV2TaskProxyless",
    "capmonster": "RecaptchaV2TaskProxyless",
    "capsolver": "ReCaptchaV2TaskProxyLess",
    "2captcha-v2": "RecaptchaV2TaskProxyless",
}
# Where the service takes a report of a refused token (CapSolver has no such call for reCAPTCHA).
REPORT_METHODS = {
    "anticaptcha": "reportIncorrectRecaptcha",
    "capmonster": "reportIncorrectRecaptcha",
    "2captcha-v2": "reportIncorrectRecaptcha",
}


@dataclass
class TaskApiSolver(PoliteSolver):
    service: str = "anticaptcha"

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.service

    async def _submit(self, *, site_key: str, page_url: str, deadline: float) -> str:
        task = {"type": TASK_TYPES[self.service], "websiteURL": page_url, "websiteKey": site_key}
        data = await self._call("createTask", {"task": task}, deadline)
        return str(data.get("taskId", ""))

    async def _result(self, *, task_id: str, deadline: float) -> str | None:
        data = await self._call("getTaskResult", {"taskId": _task_id(task_id)}, deadline)
        if data.get("status") != "ready":
            return None
        solution = data.get("solution") or {}
        token = solution.get("gRecaptchaResponse") if isinstance(solution, dict) else None
        if not isinstance(token, str) or not token:
            raise solver_error("unreachable", "solución sin gRecaptchaResponse")
        return token

    async def report_bad(self, solved: Solved) -> bool:
        method = REPORT_METHODS.get(self.service)
        if method is None:
            return False
        try:
            await self._call(method, {"taskId": _task_id(solved.task_id)}, time.monotonic() + 10)
        except Exception:  # a report is a courtesy: it never fails the lookup
            return False
        return True

    async def get_balance(self) -> float:
        if not self.api_key:
            raise solver_error("ERROR_WRONG_USER_KEY")
        data = await self._call("getBalance", {}, time.monotonic() + self.manners.request_timeout_s)
        try:
            return self._heard_balance(float(data.get("balance", "")))
        except (TypeError, ValueError) as exc:
            raise solver_error("unreachable", "saldo ilegible") from exc

    async def _call(self, method: str, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        url = f"{self.api_url.rstrip('/')}/{method}"
        data = await call_json(url, timeout_s=self._remaining(deadline), payload={"clientKey": self.api_key, **payload})
        if data.get("errorId"):
            raise solver_error(str(data.get("errorCode") or "unreachable"))
        return data


def _task_id(task_id: str) -> int | str:
    # Anti-Captcha and CapMonster number their tasks, CapSolver names them with a UUID: send what came.
    return int(task_id) if task_id.isdigit() else task_id
