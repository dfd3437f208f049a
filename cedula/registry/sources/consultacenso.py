"""The second source: consultacenso.registraduria.gov.co (REGISTRY_CONSULTACENSO_URL).

The form: `#consultaForm` with `#documento`, `#eleccion` (filled by the page's script from `GET back/api/elecciones`;
0 = LUGAR DE VOTACION ACTUAL), the reCAPTCHA widget and `#submitBtn`. The page's script POSTs JSON
`{documento, eleccionId, captchaToken}` to `back/api/consulta` and receives the answer as JSON
(consultacenso_answer.py). It sits behind the same WAF as the census page, so the call leaves from the page the
browser loaded (its cookies), never from a bare HTTP client. The JSON is the whole answer: no rendering of it is known
from public material, so there is nothing to corroborate.
"""

from __future__ import annotations

import re

from cedula.registry.sources import consultacenso_answer
from cedula.registry.sources.base import Source

_DOC_LABEL = re.compile(r"n[uú]mero de (documento|c[eé]dula)|documento", re.I)

_READY_JS = r"""() => {
  const shown = el => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  if (/requested URL was rejected/i.test(document.body ? document.body.textContent : '')) { return true; }
  const labelled = Array.from(document.querySelectorAll('label'))
    .filter(l => /n[uú]mero de (documento|c[eé]dula)/i.test(l.textContent || ''))
    .map(l => l.control);
  const input = [document.querySelector('#documento'), document.querySelector("input[name='documento']"), ...labelled]
    .some(shown);
  // The election list is filled by the page's own script: the form is ready once option 0 is there.
  const select = document.querySelector('#eleccion') || document.querySelector("select[name='eleccion']");
  return input && (!select || !!select.querySelector("option[value='0']"));
}"""

CONSULTACENSO = Source(
    name="consultacenso",
    label="Consulta del censo (consultacenso)",
    number="documento",
    choice="eleccion",
    submit="consultar",
    area=None,
    choice_value="0",
    selectors={
        "documento": (
            ("id", lambda page: page.locator("#documento")),
            ("name", lambda page: page.locator("input[name='documento']")),
            ("label", lambda page: page.get_by_label(_DOC_LABEL)),
        ),
        "eleccion": (
            ("id", lambda page: page.locator("select#eleccion")),
            ("name", lambda page: page.locator("select[name='eleccion']")),
            ("label", lambda page: page.get_by_label(re.compile(r"elecci[oó]n", re.I))),
        ),
        "consultar": (
            ("id", lambda page: page.locator("#submitBtn")),
            ("form", lambda page: page.locator("#consultaForm [type='submit']")),
            ("text", lambda page: page.get_by_role("button", name=re.compile(r"^\s*(consultar|buscar)\s*$", re.I))),
        ),
    },
    ready_js=_READY_JS,
    answer_path="back/api/consulta",
    read=consultacenso_answer.read,
)
