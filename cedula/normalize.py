"""Cedula text -> canonical digits (pure: no Django).

People type "1.234.567", "1,234,567", " 1234567 " or "CC 1234567"; spreadsheets export "0001234567". The canonical
form is digits only, leading zeros dropped, 3 to 10 digits.
"""

from __future__ import annotations

import re
import unicodedata

MIN_DIGITS = 3
MAX_DIGITS = 10

# A document-type prefix people copy along with the number ("CC 123", "C.C. 123", "cédula: 123").
_PREFIX = re.compile(r"^\s*(?:c\.?\s*c\.?|c[eé]dula(?:\s+de\s+ciudadan[ií]a)?|nuip|documento)\s*[:#.]?\s*", re.I)
# Thousands separators are dots, commas, spaces (also non-breaking) or apostrophes between digit groups.
# ASCII only: Python's \d also matches fullwidth, Arabic-Indic... digits, which ascii_digits has already mapped.
_GROUPED = re.compile(r"^[0-9]{1,3}(?:[.,' \u00a0][0-9]{3})+$")
_PLAIN = re.compile(r"^[0-9]+$")


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit ("８", "٣", "३") as its ASCII digit; other characters unchanged. Without it
    "８１０００００２" and "81000002" would be two cedulas (two rows, neither search finding the other)."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def normalize_cedula(text: str) -> str:
    if not isinstance(text, str):
        raise ValueError("La cédula debe ser texto.")
    raw = text.strip()
    if not raw:
        raise ValueError("La cédula está vacía.")
    body = _PREFIX.sub("", ascii_digits(raw), count=1).strip()
    if _GROUPED.match(body):
        digits = re.sub(r"[^0-9]", "", body)
    elif _PLAIN.match(body):
        digits = body
    else:
        if re.search(r"[eE][+-]?[0-9]", body) and re.search(r"[0-9]", body):
            raise ValueError(
                f"«{raw}» parece notación científica de Excel: formatee la columna como texto y exporte de nuevo."
            )
        if body.startswith(("-", "+")):
            raise ValueError(f"«{raw}» tiene un signo: una cédula solo lleva dígitos.")
        raise ValueError(f"«{raw}» no es una cédula: solo se admiten dígitos (con puntos o comas de miles).")
    stripped = digits.lstrip("0")
    if len(stripped) < MIN_DIGITS:
        raise ValueError(f"«{raw}» es demasiado corta: una cédula tiene entre {MIN_DIGITS} y {MAX_DIGITS} dígitos.")
    if len(stripped) > MAX_DIGITS:
        raise ValueError(f"«{raw}» es demasiado larga: una cédula tiene entre {MIN_DIGITS} y {MAX_DIGITS} dígitos.")
    return stripped


def mask_cedula(cedula: str) -> str:
    """The only form of a cedula that may reach a log line or a Sentry event: the last 4 digits."""
    digits = re.sub(r"[^0-9]", "", ascii_digits(cedula or ""))
    return "***" + digits[-4:] if digits else "***"


# Cedula-shaped numbers inside free text: 6-10 digit runs, or dotted/comma-grouped thousands, not part of a
# longer token (hex ids, uuids, timestamps keep their digits).
_CEDULA_IN_TEXT = re.compile(r"(?<![\w.,-])(?:\d{1,3}(?:[.,]\d{3}){1,3}|\d{6,10})(?![\w]|[.,]\d)")


def scrub_text(text: str) -> str:
    return _CEDULA_IN_TEXT.sub(lambda m: mask_cedula(m.group(0)), text)
