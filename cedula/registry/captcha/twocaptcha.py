"""2captcha's classic API: in.php takes a reCAPTCHA v2 task, res.php answers its token, the balance
(action=getbalance, free) and a report of a refused token (action=reportbad)."""

from __future__ import annotations

import time
import urllib.parse

from cedula.registry.captcha.base import Solved, solver_error
from cedula.registry.captcha.http import call_json
from cedula.registry.captcha.polite import PoliteSolver


class TwoCaptchaSolver(PoliteSolver):
    name = "2captcha"

    async def _submit(self, *, site_key: str, page_url: str, deadline: float) -> str:
        params = {"method": "userrecaptcha", "googlekey": site_key, "pageurl": page_url}
        return await self._call("in.php", params, deadline)

    async def _result(self, *, task_id: str, deadline: float) -> str | None:
        value = await self._call("res.php", {"action": "get", "id": task_id}, deadline)
        return None if value == "CAPCHA_NOT_READY" else value

    async def report_bad(self, solved: Solved) -> bool:
        try:
            await self._call("res.php", {"action": "reportbad", "id": solved.task_id}, time.monotonic() + 10)
        except Exception:  # a report is a courtesy: it never fails the lookup
            return False
        return True

    async def get_balance(self) -> float:
        if not self.api_key:
            raise solver_error("ERROR_WRONG_USER_KEY")
        value = await self._call("res.php", {"action": "getbalance"}, time.monotonic() + self.manners.request_timeout_s)
        try:
            return self._heard_balance(float(value))
        except ValueError as exc:
            raise solver_error("unreachable", "saldo ilegible") from exc

    async def _call(self, endpoint: str, params: dict[str, str], deadline: float) -> str:
        query = urllib.parse.urlencode({"key": self.api_key, "json": "1", **params})
        data = await call_json(f"{self.api_url.rstrip('/')}/{endpoint}?{query}", timeout_s=self._remaining(deadline))
        value = str(data.get("request", ""))
        if data.get("status") == 1 or value == "CAPCHA_NOT_READY":
            return value
        raise solver_error(value or "unreachable")
