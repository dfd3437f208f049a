"""The cedula search of the console's lists and the sidebar: a cedula or its first digits, typed as staff read them
(a range read off the unique index, never a LIKE scan)."""

from __future__ import annotations

import re

from cedula.normalize import ascii_digits, normalize_cedula

# A search term ending in one of these asks for every cedula that starts with its digits (the older syntax: a plain
# number of 4 digits or more does the same now).
PREFIX_MARKERS = ("*", "…", "...")
PREFIX_MIN_DIGITS = 4
SEARCH_HELP = "Cédula o sus primeros dígitos, con o sin puntos (1.162.634.974, 1162634 o 1162)"
_SEPARATORS = re.compile(r"[\s.,'’\-]")


def parse_search(term: str) -> tuple[str, str] | None:
    """("exact", digits) or ("prefix", digits) for a search term; None when it cannot match any cedula.

    Staff type part of a number as they read it: "1162", "1.162.634" or "1162634974" all find 1.162.634.974. A number
    of 4 digits or more, with or without separators, is the first digits of the cedulas sought (the whole cedula
    included: it starts with itself); a shorter one is a whole 3-digit cedula. Cedulas are stored without leading
    zeros, and a prefix is compared as text on the unique column: cedula >= '1162' AND cedula < '1163' is one range
    read off its index whatever the lengths, never a LIKE scan.
    """
    term, marked = term.strip(), False
    for marker in PREFIX_MARKERS:
        if term.endswith(marker):
            term, marked = term[: -len(marker)], True
            break
    plain = _SEPARATORS.sub("", ascii_digits(term))
    if plain.isdigit():
        digits = plain.lstrip("0")
        if PREFIX_MIN_DIGITS <= len(digits) <= 10:
            return "prefix", digits
        if 3 <= len(digits) < PREFIX_MIN_DIGITS and not marked:
            return "exact", digits
        return None
    try:
        return "exact", normalize_cedula(term)  # "CC 1.234.567" and the other ways people write a cedula
    except ValueError:
        return None


def prefix_range(digits: str) -> tuple[str, str]:
    # The next string after every "digits…": bump the last character ('9' + 1 is ':', still above every digit).
    return digits, digits[:-1] + chr(ord(digits[-1]) + 1)
