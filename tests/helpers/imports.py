"""Files as staff produce them: CSV in the encodings Excel writes, XLSX with one or several sheets."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl

from devtools.xlsx import XLSX_MAIN, xlsx_with_shared_strings  # noqa: F401 - shared with the bench


def csv_bytes(rows: Iterable[Sequence[Any]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(delimiter.join(str(cell) for cell in row) for row in rows) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(sheets: dict[str, Iterable[Sequence[Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.worksheets[0])
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
