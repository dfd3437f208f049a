"""Reading an XLSX file of cedulas (pure, like cedula.importing, which calls it for a file that starts as a zip).

An XLSX is a zip of XML parts, and a 1.5 MB file can expand to gigabytes. Every part's uncompressed size is read from
the archive's directory and checked before openpyxl opens anything: the shared strings are loaded whole (even in
read-only mode), the sheets are streamed, and the rest is small in any real workbook. zipfile never reads past a part's
declared size, so a directory that lies only makes the file fail as damaged.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from cedula.importing import (
    HEADER_SEARCH_ROWS,
    ImportFileError,
    ParsedFile,
    SourceRow,
    _missing_column_message,
    _text_rows,
    _thousands,
    find_cedula_column,
)

MB = 2**20
# 1,000,000 cedulas typed as text make ~26 MB of shared strings; loaded, a part this size stays under ~100 MB.
MAX_SHARED_STRINGS_BYTES = 32 * MB
# A sheet is streamed, but its size is the time a worker spends on it: a million rows of a few columns is ~200 MB.
MAX_SHEET_BYTES = 256 * MB
# Workbook, styles, relationships: a few hundred kB in real files, parsed whole by openpyxl.
MAX_OTHER_PART_BYTES = 8 * MB
MAX_PARTS = 1000
_DAMAGED = "El archivo no es un libro de Excel (.xlsx) válido o está dañado."


def check_parts(stream: BinaryIO) -> None:
    """Refuse a workbook whose parts would expand past what the reader can hold, before any part is opened."""
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(_DAMAGED) from exc
    if len(infos) > MAX_PARTS:
        raise ImportFileError(f"El libro de Excel tiene más de {MAX_PARTS} partes: guárdelo como CSV.")
    for info in infos:
        name = info.filename.lower()
        if not name.endswith((".xml", ".rels", ".vml")):
            continue  # pictures and other binaries: the reader never opens them
        if name.endswith("sharedstrings.xml"):
            limit, what = MAX_SHARED_STRINGS_BYTES, "sus textos"
        elif name.startswith("xl/worksheets/"):
            limit, what = MAX_SHEET_BYTES, "una de sus hojas"
        else:
            limit, what = MAX_OTHER_PART_BYTES, f"la parte «{info.filename[:60]}»"
        if info.file_size > limit:
            raise ImportFileError(
                f"El libro de Excel es demasiado grande una vez descomprimido: {what} ocupa "
                f"{_thousands(info.file_size // MB)} MB y el máximo es {limit // MB} MB. Guárdelo como CSV o "
                "divídalo en partes."
            )


def read_xlsx(stream: BinaryIO) -> ParsedFile:
    import openpyxl  # only imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    check_parts(stream)
    stream.seek(0)
    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise ImportFileError(_DAMAGED) from exc
    try:
        first_headers: list[Any] = []
        for sheet in book.worksheets:
            if not hasattr(sheet, "iter_rows"):
                continue  # a chart sheet
            # Some writers store a wrong "used range"; without this, read-only mode would silently stop early.
            sheet.reset_dimensions()
            records = sheet.iter_rows(values_only=True)
            head: list[tuple[Any, ...]] = []
            for cells in records:
                head.append(cells)
                column = find_cedula_column(cells)
                if column is not None:
                    rows = list(_column_rows(records, column, first_number=len(head) + 1))
                    return ParsedFile(kind="xlsx", column=str(cells[column]).strip(), rows=rows, sheet=sheet.title)
                if len(head) >= HEADER_SEARCH_ROWS:
                    break
            if not first_headers:
                first_headers = next((list(c) for c in head if any(_cell_text(v).strip() for v in c)), [])
        raise ImportFileError(_missing_column_message(first_headers) + " Se revisaron todas las hojas del libro.")
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged part of the archive
        raise ImportFileError(_DAMAGED) from exc
    finally:
        book.close()


def _column_rows(records: Iterable[tuple[Any, ...]], column: int, *, first_number: int) -> Iterator[SourceRow]:
    """XLSX rows: cells are numbers, dates or text."""
    return _text_rows(([_cell_text(cell) for cell in cells] for cells in records), column, first_number)


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A number cell holds the full value even when Excel displays 1.23457E+09.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)
