"""The registry's second source, consultacenso (consultacenso.registraduria.gov.co), served at CONSULTACENSO_PATH by
the same server as the census page: one port, one process, the same answer for every cedula (state.outcome_for).

    GET  /consultacenso/                     the page (consultacenso.html): #consultaForm, #documento, select#eleccion
                                             (filled by its script from back/api/elecciones), the captcha widget in
                                             captcha mode, #submitBtn, #resultado; it sets the PHPSESSID cookie (the
                                             API has no form token)
    GET  /consultacenso/back/api/elecciones  {"ok": true, "data": [{"id": 0, "nombre": "LUGAR DE VOTACION ACTUAL",
                                             "mensaje": ""}, {"id": 1, ...}]}
    POST /consultacenso/back/api/consulta    JSON {documento, eleccionId, captchaToken, wd} -> JSON, below

The POST's answers (answer_for):

    active     {"ok": true, "encontrado": true, "data": {"nuip", "nom_depto", "nom_mun", "nom_puesto", "direccion",
               "mesa"}}
    cancelled  {"ok": true, "encontrado": true, "novedad": true, "mensaje": "Cancelada por Muerte",
               "descripcion": "Resolución 0012 del 02/05/2026", "data": {"nuip"}} (the parts the outcome lacks left out)
    not found  {"ok": true, "encontrado": false, "mensaje": NOT_FOUND_MESSAGE}
    refused    {"ok": false, "error": ...}: the body or documento, an election other than 0, the captcha, the session

KEY CASE VARIES, as on the real site: when the documento's integer value is odd, every key at every level of the POST's
JSON answer is upper-case ({"OK": true, "ENCONTRADO": true, "DATA": {"NOM_DEPTO": ...}}); even documentos (and ones
that are not numbers) get lower-case keys. Values keep their case. The elecciones answer is always lower-case.

The checks, in the wsp POST's order where they apply: a HeadlessChrome User-Agent -> the block page; a body that is not
a JSON object or has no documento -> "Documento inválido" (no body, no `wd` to judge); `wd` not "false"/"0" -> the
block page; closer than min_gap_s to the previous POST of EITHER source -> the block page (one clock,
state.last_post_at: both pages are the same registry behind the same WAF); no PHPSESSID cookie, or the stale fault
cedula -> the session expired; captcha mode and a missing, invalid or reused captchaToken -> the captcha refusal; a
documento that is not 3-10 digits -> "Documento inválido"; an eleccionId other than 0 -> "Elección no disponible". Then
the fault cedulas as on the wsp POST (malformed = found without its place; flaky shares state.flaky_seen with it),
then the outcome. The wsp page's behaviours (interstitial, renamed elements, ...) do not apply to this page.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cedula.registry.simulator import outcomes
from cedula.registry.simulator.behaviours import CAPTCHA_WIDGET, SITE_KEY

if TYPE_CHECKING:
    from cedula.registry.simulator.server import _Handler

CONSULTACENSO_PATH = "/consultacenso/"
ELECCIONES_PATH = f"{CONSULTACENSO_PATH}back/api/elecciones"
CONSULTA_PATH = f"{CONSULTACENSO_PATH}back/api/consulta"
PAGE_TEMPLATE = Path(__file__).with_name("consultacenso.html").read_text(encoding="utf-8")
ELECCIONES: dict[str, Any] = {
    "ok": True,
    "data": [
        {"id": 0, "nombre": "LUGAR DE VOTACION ACTUAL", "mensaje": ""},
        {"id": 1, "nombre": "CONSULTAS POPULARES 2026 (stand-in)", "mensaje": ""},
    ],
}
NOT_FOUND_MESSAGE = "El documento consultado no se encuentra en el censo para esta elección."
INVALID_ERROR = "Documento inválido"
ELECTION_ERROR = "Elección no disponible"
CAPTCHA_ERROR = "Captcha inválido o vencido"
EXPIRED_ERROR = "La sesión expiró; recargue la página."


def answer_for(cedula: str, outcome: outcomes.Outcome) -> dict[str, Any]:
    """The POST's JSON for an outcome, lower-case keys (see cased)."""
    if outcome.status == "active":
        place = {
            "nuip": cedula,
            "nom_depto": outcome.departamento,
            "nom_mun": outcome.municipio,
            "nom_puesto": outcome.puesto,
            "direccion": outcome.direccion,
            "mesa": outcome.mesa,
        }
        return {"ok": True, "encontrado": True, "data": place}
    if outcome.status == "cancelled":
        answer: dict[str, Any] = {"ok": True, "encontrado": True, "novedad": True}
        if outcome.novedad:
            answer["mensaje"] = outcome.novedad
        fecha = f"del {outcome.fecha_novedad:%d/%m/%Y}" if outcome.fecha_novedad else ""
        if outcome.resolucion or fecha:
            answer["descripcion"] = " ".join(part for part in ("Resolución", outcome.resolucion, fecha) if part)
        return {**answer, "data": {"nuip": cedula}}
    return {"ok": True, "encontrado": False, "mensaje": NOT_FOUND_MESSAGE}


def cased(value: Any, upper: bool) -> Any:
    """The same JSON with every key upper-cased, at every level (unchanged when not `upper`)."""
    if isinstance(value, dict):
        return {(key.upper() if upper else key): cased(item, upper) for key, item in value.items()}
    if isinstance(value, list):
        return [cased(item, upper) for item in value]
    return value


def upper_keys(cedula: str) -> bool:
    """Whether this documento's answers come with upper-case keys: its integer value is odd."""
    return cedula.isdigit() and int(cedula) % 2 == 1


def get(handler: _Handler, path: str) -> None:
    if path == CONSULTACENSO_PATH.rstrip("/"):
        # The page's script uses relative URLs: it must be served under the slash.
        return handler._send(302, "", "text/plain", {"Location": CONSULTACENSO_PATH})
    if path == CONSULTACENSO_PATH:
        return _page(handler)
    if path == ELECCIONES_PATH:
        handler._record()
        return handler._json(ELECCIONES)
    return handler._send(404, "Not Found", "text/plain; charset=utf-8")


def post(handler: _Handler, path: str) -> None:
    if path == CONSULTA_PATH:
        return _consulta(handler)
    handler._body()
    return handler._send(404, "Not Found", "text/plain; charset=utf-8")


def _page(handler: _Handler) -> None:
    state = handler.state
    if "HeadlessChrome" in handler.headers.get("User-Agent", ""):
        handler._record(answer="blocked:user_agent")
        return handler._block()
    session = handler._session_id() or secrets.token_hex(13)
    with state.lock:
        state.consultacenso_page_visits += 1
    widget = CAPTCHA_WIDGET.format(site_key=SITE_KEY) if state.captcha else ""
    handler._record()
    return handler._send(
        200,
        PAGE_TEMPLATE.replace("__CAPTCHA__", widget),
        "text/html; charset=utf-8",
        {"Set-Cookie": f"PHPSESSID={session}; Path=/; HttpOnly"},
    )


def _read(handler: _Handler) -> dict[str, Any] | None:
    try:
        body = json.loads(handler._body() or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _text(value: Any) -> str:
    """A JSON value as the page would have typed it: numbers as digits, anything odd as nothing."""
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, float)):
        return ""
    return str(value).strip()


def _consulta(handler: _Handler) -> None:
    state = handler.state
    body = _read(handler)
    fields = body or {}
    documento = _text(fields.get("documento"))
    cedula = documento.lstrip("0")
    raw_wd = fields.get("wd")
    wd = str(raw_wd).lower() if isinstance(raw_wd, bool) else _text(raw_wd).lower()
    with state.lock:
        too_fast = state.last_post_at is not None and handler.arrived_at - state.last_post_at < state.min_gap_s
        state.last_post_at = handler.arrived_at
        state.consultacenso_posts += 1
        flaky_first = cedula == outcomes.FLAKY and cedula not in state.flaky_seen
        if cedula == outcomes.FLAKY:
            state.flaky_seen.add(cedula)
    # A token is checked (and spent) by every POST that carries one, as Google's siteverify does.
    captcha_ok = not state.captcha or state.solver.redeem(_text(fields.get("captchaToken")))
    upper = upper_keys(cedula)

    def answer(kind: str, data: dict[str, Any] | None = None) -> None:
        handler._record(nuip=documento, wd=wd, answer=kind)
        if data is not None:
            handler._json(cased(data, upper))

    if "HeadlessChrome" in handler.headers.get("User-Agent", ""):
        answer("blocked:user_agent")
        return handler._block()
    if body is None or not documento:
        return answer("invalid", {"ok": False, "error": INVALID_ERROR})
    if wd not in ("0", "false"):
        answer("blocked:webdriver")
        return handler._block()
    if too_fast:
        answer("blocked:too_fast")
        return handler._block()
    if handler._session_id() is None or cedula == outcomes.STALE_TOKEN:
        return answer("expired", {"ok": False, "error": EXPIRED_ERROR})
    if not captcha_ok:
        return answer("captcha", {"ok": False, "error": CAPTCHA_ERROR})
    if not (documento.isdigit() and 3 <= len(cedula) <= 10):
        return answer("invalid", {"ok": False, "error": INVALID_ERROR})
    election = fields.get("eleccionId")
    if isinstance(election, bool) or str(election).strip() != "0":
        return answer("election", {"ok": False, "error": ELECTION_ERROR})
    if cedula == outcomes.HANG:
        answer("hang")
        state.stop.wait(outcomes.HANG_S)
        handler.close_connection = True
        return None
    if cedula == outcomes.SERVER_ERROR:
        answer("server_error")
        return handler._send(500, "<h1>Internal Server Error</h1>", "text/html; charset=utf-8")
    if cedula == outcomes.MALFORMED:
        return answer("malformed", {"ok": True, "encontrado": True, "data": {"nuip": cedula, "basura": "<<<%%%>>>"}})
    if cedula == outcomes.BLOCKED or flaky_first:
        answer("blocked:fault")
        return handler._block()
    if cedula == outcomes.DROPPED:
        answer("dropped")
        # Half of what it would have said, then the connection breaks.
        whole = json.dumps(cased(answer_for(cedula, state.outcome_for(cedula)), upper), ensure_ascii=False)
        return handler._drop(whole[: len(whole) // 2])
    if cedula == outcomes.SLOW:
        state.stop.wait(outcomes.SLOW_RENDER_S)
    outcome = state.outcome_for(cedula)
    return answer(outcome.status, answer_for(cedula, outcome))
