"""consultacenso's answer, `POST /back/api/consulta` -> JSON, read into a LookupResult. Pure: no Django, no Playwright.

The shape (from public scrapers of the site; docs/registry.md, "consultacenso"):

    {ok, error?, encontrado, data?: {nuip, nom_depto, nom_mun, nom_puesto, direccion, mesa, ...},
     mensaje?, novedad?, descripcion?}

- The case of the keys varies ("ok" / "OK", "nom_depto" / "NOM_DEPTO"): keys are compared case-folded, at every level.
- `ok: false` with `error` is a refusal: the captcha, an expired session, or a request the API did not accept.
- `novedad: true` with `mensaje` / `descripcion` is a cedula with a novedad (cancelled, or not enabled to vote). Public
  scrapers file it as not found; it is our `cancelled`, with the novedad text, and the resolución and its date when the
  answer carries them (in `data`, or written in `descripcion`: "Resolución 0012 del 02/05/2026").
- `encontrado: false` is not found; `encontrado: true` with the place fields is active.
- Anything else (an unknown shape, a found answer without its place) is unexpected_page, never a silent success.
"""

from __future__ import annotations

import re
from typing import Any

from cedula.registry.parser import LookupResult, parse_date, parse_result
from cedula.registry.sources.base import Read, error, read_json

_PLACE = {
    "departamento": ("nom_depto", "departamento", "nom_departamento"),
    "municipio": ("nom_mun", "municipio", "nom_municipio"),
    "puesto": ("nom_puesto", "puesto"),
    "direccion": ("direccion", "dir_puesto"),
    "mesa": ("mesa", "num_mesa"),
}
_REQUIRED = ("departamento", "municipio", "puesto", "mesa")
_RESOLUCION = re.compile(r"resoluci[oó]n\s*(?:n[oº°.]*\s*)?([0-9][\w-]*)", re.I)
_TRUE_WORDS = frozenset({"true", "si", "sí", "1", "s"})


def folded_keys(value: Any) -> Any:
    """The same JSON with every key lower-cased, at every level."""
    if isinstance(value, dict):
        return {str(key).strip().lower(): folded_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [folded_keys(item) for item in value]
    return value


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return " ".join(str(value).split())


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return isinstance(value, str) and value.strip().casefold() in _TRUE_WORDS


def _first(data: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        if text := _text(data.get(name)):
            return text
    return ""


def _refusal(answer: dict[str, Any]) -> LookupResult:
    """`ok: false`: what the API said, classified by its words (captcha, expired session, not found)."""
    said = _text(answer.get("error")) or _text(answer.get("mensaje")) or _text(answer.get("descripcion"))
    by_words = parse_result(said) if said else None
    if by_words is not None and by_words.status == "not_found":
        return by_words
    if by_words is not None and by_words.error_kind in ("captcha", "expired"):
        return by_words
    return error("unexpected_page", f"La consulta fue rechazada: {said[:120] or 'sin motivo'}.")


def _cancelled(answer: dict[str, Any], data: dict[str, Any]) -> LookupResult:
    mensaje, descripcion = _text(answer.get("mensaje")), _text(answer.get("descripcion"))
    novedad_value = answer.get("novedad")
    # Some versions put the novedad's own text in `novedad` instead of a flag.
    own = _text(novedad_value) if isinstance(novedad_value, str) and not _flag(novedad_value) else ""
    novedad = own or mensaje or descripcion
    if not novedad:
        return error("unexpected_page", "Respuesta con novedad pero sin su texto.")
    written = f"{descripcion} {mensaje}"
    resolucion = _first(data, ("resolucion", "num_resolucion"))
    if not resolucion and (match := _RESOLUCION.search(written)):
        resolucion = match.group(1)
    fecha = parse_date(_first(data, ("fecha_novedad", "fecha_resolucion", "fecha")) or written)
    return LookupResult(
        status="cancelled",
        message="Documento con novedad.",
        novedad=novedad,
        resolucion=resolucion or None,
        fecha_novedad=fecha,
    )


def parse_consulta(payload: Any) -> LookupResult:
    """The API's decoded JSON -> LookupResult."""
    answer = folded_keys(payload)
    if not isinstance(answer, dict) or not ({"ok", "encontrado", "novedad", "error"} & answer.keys()):
        return error("unexpected_page", "Respuesta de consultacenso con una forma desconocida.")
    data: dict[str, Any] = answer["data"] if isinstance(answer.get("data"), dict) else {}
    if "ok" in answer and not _flag(answer.get("ok")):
        return _refusal(answer)
    if _flag(answer.get("novedad")) or (isinstance(answer.get("novedad"), str) and _text(answer.get("novedad"))):
        return _cancelled(answer, data)
    if "encontrado" in answer and not _flag(answer.get("encontrado")):
        return LookupResult(status="not_found", message="El documento no se encuentra en el censo.")
    if not _flag(answer.get("encontrado")):
        return error("unexpected_page", "Respuesta de consultacenso sin «encontrado».")
    place = {field: _first(data, names) for field, names in _PLACE.items()}
    if not all(place[field] for field in _REQUIRED):
        missing = ", ".join(field for field in _REQUIRED if not place[field])
        return error("unexpected_page", f"Resultado incompleto: falta {missing}.")
    return LookupResult(
        status="active",
        message="Lugar de votación encontrado.",
        departamento=place["departamento"],
        municipio=place["municipio"],
        puesto=place["puesto"],
        direccion=place["direccion"] or None,
        mesa=place["mesa"],
    )


def read(text: str) -> Read:
    """The API's response body (pure): HTML where JSON belongs is the block page."""
    payload, blocked = read_json(text)
    if blocked is not None:
        return blocked
    return Read(parse_consulta(payload), shown=text)
