"""The solvers' HTTP calls: plain urllib run in a worker thread, so the browser's event loop keeps running while we
wait for a solver. A call that fails on the way (DNS, refused, timeout, not JSON) is CaptchaError("unreachable")."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from cedula.registry.captcha.base import solver_error


async def call_json(url: str, *, timeout_s: float, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET `url` (or POST `payload` as JSON) and return the JSON object it answers."""
    try:
        body = await asyncio.to_thread(_fetch, url, payload, max(0.1, timeout_s))
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise solver_error("unreachable", type(exc).__name__) from exc
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise solver_error("unreachable", "respuesta que no es JSON") from exc
    if not isinstance(data, dict):
        raise solver_error("unreachable", "respuesta JSON sin la forma esperada")
    return data


def _fetch(url: str, payload: dict[str, Any] | None, timeout: float) -> str:
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - the URL comes from settings
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL comes from settings
        body: bytes = response.read()
        return body.decode("utf-8", "replace")
