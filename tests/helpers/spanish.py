"""English on a console page: phrases once seen on screen, and Python's repr of a choice."""

from __future__ import annotations

import html as html_lib
import re

# English seen in the console before issue 18 (Unfold, Django-Q2, our own field names), and wording since replaced.
ENGLISH = [
    "Search apps and models",
    "All applications",
    "No data",
    "No results found",
    "Create a new item",
    "Select action",
    "Filters",
    "Welcome back to",
    "Return to site",
    "Created by",
    "Import batch",
    "User",
    "Choose file to upload",
    "Cancel",
    "No such file or directory",
    "Time taken",
    "Time Taken",
    "Short result",
    "Resubmit",
    "Schedule Type",
    "Next Run",
    "Repeats",
    "Started at",
    "Stopped at",
    "Function",
    "Arguments",
    "Apply Filters",
    "Hide counts",
    "Show counts",
    "Type to search",
    "Recent actions",
    "Log out",
    "View site",
    "Django administration",
    "Django site admin",
    "Sitio administrativo",
    "Para ya",
    "Scheduled task",
    "Successful task",
    "Failed task",
    "Queued task",
]
# A field shown with Python's repr of a choice, e.g. ('error', 'Error').
TUPLE = re.compile(r"\(\s*'[a-z_]+'\s*,\s*'[^']*'\s*\)")


def visible_text(page: str) -> str:
    """What a person reads: text between tags, plus placeholders, titles, labels and button values."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    attributes = re.findall(r'(?:placeholder|title|aria-label|alt|value)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html_lib.unescape(" ".join([text, *attributes]))


def english_in(page: str) -> list[str]:
    text = visible_text(page)
    found = [phrase for phrase in ENGLISH if re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text)]
    found += TUPLE.findall(text)
    return found


# Developer text: a snake_case or kebab-case identifier (last_checked, lookups-dispatch), a dotted code path
# (cedula.tasks.dispatch) or a setting's name (REGISTRY_CANARY_CEDULA).
IDENTIFIER = re.compile(
    r"(?<![\w@./-])(?:"
    r"[a-z]+(?:_[a-z0-9]+)+"  # snake_case
    r"|[a-z]+(?:-[a-z]+)+(?=\s|$|[.,;:)](?!\w))"  # kebab-case (not a file name: "padron-norte.csv")
    r"|[a-z_]+\.[a-z_]+\.[a-z_]+"  # a dotted path
    r"|[A-Z]{3,}(?:_[A-Z]+)+"  # a setting
    r")(?![\w@/-])"
)
# Spanish words that legitimately carry a hyphen.
HYPHENATED_OK = {"sí-no"}
NOUNS = ["cédula", "consulta", "fila", "intento", "tarea", "reintento", "captcha", "cambio", "alerta", "prueba", "día"]
_MANY = r"(?:0|[2-9]|[1-9]\d+|\d{1,3}(?:\.\d{3})+)"
SINGULAR_WITH_MANY = re.compile(rf"(?<![\d.,]){_MANY}\s+(?:{'|'.join(NOUNS)})(?![\wsí])")
PLURAL_WITH_ONE = re.compile(rf"(?<![\d.,])1\s+(?:{'|'.join(n + 's' for n in NOUNS)})(?!\w)")


def developer_text_in(page: str) -> list[str]:
    """Identifiers and un-pluralized counts a person would read on the page (an icon's ligature name is drawn as an
    icon, not read)."""
    page = re.sub(r'<(span|i)\b[^>]*class="[^"]*material-symbols[^"]*"[^>]*>[^<]*</\1>', " ", page)
    # A value is read only on a button; an option's or a hidden field's value is never shown.
    page = re.sub(
        r'<(option|input)\b(?![^>]*type="(?:submit|button)")[^>]*>',
        lambda m: re.sub(r'value="[^"]*"', "", m.group(0)),
        page,
    )
    text = visible_text(page)
    found = [m for m in IDENTIFIER.findall(text) if m not in HYPHENATED_OK]
    found += SINGULAR_WITH_MANY.findall(text)
    found += PLURAL_WITH_ONE.findall(text)
    return found
