"""Compile locale/*/LC_MESSAGES/django.po to django.mo without GNU gettext (a fresh machine may lack msgfmt).

    python -m ops.compile_messages          # writes every .mo next to its .po
    python -m ops.compile_messages --check  # exits 1 when a committed .mo is out of date

Handles what our .po files use: msgctxt, msgid_plural/msgstr[n], escaped and multi-line strings. The .mo layout
is GNU's (magic, revision 0, sorted original/translation tables), which Python's gettext (and so Django) reads.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = BASE_DIR / "locale"


def parse_po(text: str) -> dict[str, str]:
    """msgid (with "ctxt\\x04" and "\\x00"-joined plurals, as .mo stores them) -> translation; empty ones dropped."""
    messages: dict[str, str] = {}
    entry: dict[str, str] = {}
    current: str | None = None

    def flush() -> None:
        if "msgid" in entry:
            key = entry["msgid"]
            if "msgid_plural" in entry:
                key += "\x00" + entry["msgid_plural"]
                forms = [entry[k] for k in sorted(k for k in entry if k.startswith("msgstr["))]
                value = "\x00".join(forms)
            else:
                value = entry.get("msgstr", "")
            if "msgctxt" in entry:
                key = entry["msgctxt"] + "\x04" + key
            if value.strip("\x00") or key == "":
                messages[key] = value
        entry.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if current is None:
                raise ValueError(f"continuation line without a keyword: {raw!r}")
            entry[current] += ast.literal_eval(line)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and ("msgstr" in entry or any(k.startswith("msgstr[") for k in entry)):
            flush()
        current = keyword
        entry[keyword] = ast.literal_eval(rest)
    flush()
    return messages


def mo_bytes(messages: dict[str, str]) -> bytes:
    keys = sorted(messages)
    ids = [k.encode() for k in keys]
    strs = [messages[k].encode() for k in keys]
    n = len(keys)
    header_size = 7 * 4
    ids_start = header_size + n * 16
    offsets_ids, offsets_strs = [], []
    blob = b""
    for b in ids:
        offsets_ids.append((len(b), ids_start + len(blob)))
        blob += b + b"\x00"
    for b in strs:
        offsets_strs.append((len(b), ids_start + len(blob)))
        blob += b + b"\x00"
    out = struct.pack("<7I", 0x950412DE, 0, n, header_size, header_size + n * 8, 0, 0)
    for length, offset in offsets_ids + offsets_strs:
        out += struct.pack("<2I", length, offset)
    return out + blob


def compile_all(*, check: bool = False) -> list[Path]:
    """Write (or, with check, only compare) every .mo; returns those that were out of date."""
    stale = []
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        data = mo_bytes(parse_po(po.read_text(encoding="utf-8")))
        if not mo.exists() or mo.read_bytes() != data:
            stale.append(mo)
            if not check:
                mo.write_bytes(data)
    return stale


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    stale = compile_all(check=check)
    for mo in stale:
        sys.stdout.write(f"{'out of date' if check else 'compiled'}: {mo.relative_to(BASE_DIR)}\n")
    sys.exit(1 if check and stale else 0)
