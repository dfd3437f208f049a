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
