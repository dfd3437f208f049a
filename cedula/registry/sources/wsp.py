"""The census page we have always used: wsp.registraduria.gov.co/censo/consultar/ (REGISTRY_URL).

The form: `#nuip`, `select#tipo` ("-1" = LUGAR DE VOTACIÓN ACTUAL), a hidden per-load `#token`, the reCAPTCHA widget and
`#enviar`. The page's script POSTs multipart/form-data to its own address and receives
`{"success": bool, "data": {"message": "<html>"}}` (`"reload": true` when the token or session expired); it renders
the message into `#success`, which corroborates the JSON (cedula.registry.browser.answer).
"""

from __future__ import annotations

import re

from cedula.registry.parser import parse_result
from cedula.registry.sources.base import Read, Source, error, read_json

_NUIP_LABEL = re.compile(r"n[uú]mero de (documento|c[eé]dula)|nuip", re.I)

# True once a number input is visible (any of the selectors' ways, mirrored here) or the block page is shown.
# Checked every animation frame: Playwright's own locator wait backs off to 500 ms between checks, which a form shown
# late, after an interstitial's reload, pays on every lookup.
_READY_JS = r"""() => {
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  if (/requested URL was rejected/i.test(document.body ? document.body.textContent : '')) { return true; }
  const labelled = Array.from(document.querySelectorAll('label'))
    .filter(l => /n[uú]mero de (documento|c[eé]dula)|nuip/i.test(l.textContent || ''))
    .map(l => l.control);
  return [document.querySelector('#nuip'), document.querySelector("input[name='nuip']"), ...labelled].some(shown);
}"""


def read(text: str) -> Read:
    """The POST's body: the JSON's message is the answer (pure)."""
    data, blocked = read_json(text)
    if blocked is not None:
        return blocked
    if not isinstance(data, dict):
        return Read(error("unexpected_page", "Respuesta JSON sin la forma esperada."), shown="")
    message = data["data"].get("message") if isinstance(data.get("data"), dict) else None
    shown = message if isinstance(message, str) else ""
    if data.get("reload"):
        expired = error("expired", "El token o la sesión del formulario venció: la página pidió recargarse.")
        return Read(expired, shown=shown, corroborate=True)
    if not isinstance(message, str) or not message.strip():
        return Read(error("unexpected_page", "Respuesta JSON sin mensaje."), shown="")
    return Read(parse_result(message), shown=message, corroborate=True)


WSP = Source(
    name="wsp",
    label="Consulta de lugar de votación (wsp)",
    number="nuip",
    choice="tipo",
    submit="enviar",
    area="success",
    choice_value="-1",
    selectors={
        "nuip": (
            ("id", lambda page: page.locator("#nuip")),
            ("name", lambda page: page.locator("input[name='nuip']")),
            ("label", lambda page: page.get_by_label(_NUIP_LABEL)),
        ),
        "tipo": (
            ("id", lambda page: page.locator("select#tipo")),
            ("name", lambda page: page.locator("select[name='tipo']")),
            ("label", lambda page: page.get_by_label(re.compile(r"tipo de consulta", re.I))),
        ),
        "enviar": (
            ("id", lambda page: page.locator("#enviar")),
            ("name", lambda page: page.locator("[name='enviar']")),
            ("text", lambda page: page.get_by_role("button", name=re.compile(r"^\s*(consultar|buscar)\s*$", re.I))),
        ),
        # The answer area has no name or label: after its id, the ids other versions of the page used, then the live
        # region a screen reader would announce.
        "success": (
            ("id", lambda page: page.locator("#success")),
            ("alt-id", lambda page: page.locator("#resultado, #respuesta, #resultados")),
            ("aria-live", lambda page: page.locator("[aria-live]")),
        ),
    },
    ready_js=_READY_JS,
    answer_path="",
    read=read,
)
