"""The cedula search of the console's lists: an exact cedula in any format, or the first digits and * (a range read
off the unique index, never a LIKE scan)."""

from __future__ import annotations

from cedula.normalize import ascii_digits, normalize_cedula

# A search term ending in one of these asks for every cedula that starts with its digits.
PREFIX_MARKERS = ("*", "…", "...")
PREFIX_MIN_DIGITS = 4
SEARCH_HELP = "Cédula (1.234.567) o inicio y * (7654*)"  # a prefix needs at least 4 digits


def parse_search(term: str) -> tuple[str, str] | None:
    """("exact", digits) or ("prefix", digits) for a search term; None when it cannot match any cedula.

    A prefix is the first digits of the number as written, without leading zeros (cedulas are stored without them):
    "7654*" finds 7654, 76540, 7654321 and 1.076.540.000 does not match. Compared as text on the unique column:
    cedula >= '7654' AND cedula < '7655' is a range read off its index whatever the lengths.
    """
    term = term.strip()
    for marker in PREFIX_MARKERS:
        if term.endswith(marker):
            digits = "".join(ch for ch in ascii_digits(term[: -len(marker)]) if ch in "0123456789").lstrip("0")
            if len(digits) < PREFIX_MIN_DIGITS or len(digits) > 10:
                return None
            return "prefix", digits
    try:
        return "exact", normalize_cedula(term)
    except ValueError:
        return None


def prefix_range(digits: str) -> tuple[str, str]:
    # The next string after every "digits…": bump the last character ('9' + 1 is ':', still above every digit).
    return digits, digits[:-1] + chr(ord(digits[-1]) + 1)
