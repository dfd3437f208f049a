"""The stand-in page's behaviours (each off by default, all on with `realistic`) and the page templates they shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

PATH = "/censo/consultar/"
SITE_KEY = "6LcStandInSiteKeyForTheLocalRegistry00000"
PAGE_TEMPLATE = Path(__file__).with_name("page.html").read_text(encoding="utf-8")
CAPTCHA_WIDGET = (
    '<div class="g-recaptcha" data-sitekey="{site_key}"><label style="font-weight:normal">'
    '<input type="checkbox" id="recaptcha-anchor"> No soy un robot</label>'
    '<textarea id="g-recaptcha-response" name="g-recaptcha-response" style="display:none"></textarea></div>'
)
# The first visit of a browser without the challenge cookie: a script sets it and reloads (as F5/Cloudflare-style
# JavaScript challenges do). A client that reads this page as the form finds no form.
CHALLENGE_COOKIE = "standin_js"
INTERSTITIAL_PAGE = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Verificando su navegador…</title></head>
<body><p id="verificando">Verificando su navegador antes de acceder a la consulta…</p>
<script>
setTimeout(function () {
  document.cookie = "__COOKIE__=__VALUE__; path=/";
  window.location.reload();
}, __DELAY_MS__);
</script></body></html>
"""
INTERSTITIAL_DELAY_S = 0.15
# What the renamed page calls its elements: the number input keeps only its label, the button its text, the select
# its name; the answer area becomes #resultado, a live region.
RENAMED_IDS = {
    "nuip": "numero-documento",
    "nuip_name": "numero",
    "button": "btn-consultar",
    "tipo": "tipo-consulta",
    "answer": "resultado",
}
PLAIN_IDS = {"nuip": "nuip", "nuip_name": "nuip", "button": "enviar", "tipo": "tipo", "answer": "success"}


@dataclass(frozen=True)
class Behaviours:
    """How the page behaves besides the plain form. All off = the plain page; `realistic()` = everything on.

    placeholder     a spinner + skeleton written into the answer area before the POST (never an answer)
    interstitial    a first visit gets a JavaScript page that sets a cookie and reloads; the form comes after it
    form_delay_s    the form is hidden at load and shown after this delay
    render_delay_s  the POST's answer is rendered this long after it arrived
    wrapped         the answer is rendered, then re-rendered inside extra markup (header, card, footer)
    renamed         the number input loses its id and name (its label stays), the button its id (its text stays),
                    the select its id (its name stays); the answer area is `#resultado` with aria-live (the page's
                    own script follows the new names)
    dom_message     test aid, not part of `realistic`: the page renders this instead of the JSON's message
    """

    placeholder: bool = False
    interstitial: bool = False
    form_delay_s: float = 0.0
    render_delay_s: float = 0.0
    wrapped: bool = False
    renamed: bool = False
    dom_message: str = ""

    # Short enough to keep a lookup well under a second, long enough that reading too early reads the wrong thing.
    REALISTIC_FORM_DELAY_S: ClassVar[float] = 0.3
    REALISTIC_RENDER_DELAY_S: ClassVar[float] = 0.25

    @classmethod
    def realistic(cls, **overrides: Any) -> Behaviours:
        values: dict[str, Any] = {
            "placeholder": True,
            "interstitial": True,
            "form_delay_s": cls.REALISTIC_FORM_DELAY_S,
            "render_delay_s": cls.REALISTIC_RENDER_DELAY_S,
            "wrapped": True,
            "renamed": True,
        }
        values.update(overrides)
        return cls(**values)

    def names(self) -> list[str]:
        """The behaviours switched on, for logs and bench output."""
        return [
            name
            for name in ("placeholder", "interstitial", "form_delay_s", "render_delay_s", "wrapped", "renamed")
            if getattr(self, name)
        ] + (["dom_message"] if self.dom_message else [])

    def page(self, template: str) -> str:
        ids = RENAMED_IDS if self.renamed else PLAIN_IDS
        script = {
            "nuipId": ids["nuip"],
            "buttonId": ids["button"],
            "tipoId": ids["tipo"],
            "answerId": ids["answer"],
            "placeholder": self.placeholder,
            "formDelayMs": int(self.form_delay_s * 1000),
            "renderDelayMs": int(self.render_delay_s * 1000),
            "wrapped": self.wrapped,
            "domMessage": self.dom_message,
        }
        return (
            template.replace("__NUIP_ID__", ids["nuip"])
            .replace("__NUIP_NAME__", ids["nuip_name"])
            .replace("__BUTTON_ID__", ids["button"])
            .replace("__TIPO_ID__", ids["tipo"])
            .replace("__ANSWER_ID__", ids["answer"])
            .replace("__ANSWER_ATTRS__", ' aria-live="polite"' if self.renamed else "")
            .replace("__FORM_STYLE__", ' style="display:none"' if self.form_delay_s > 0 else "")
            .replace("__BEHAVIOUR__", json.dumps(script, ensure_ascii=False).replace("</", "<\\/"))
        )
