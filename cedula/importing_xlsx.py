"""Reading an XLSX file of cedulas (pure, like cedula.importing, which calls it for a file that starts as a zip).

An XLSX is a zip of XML parts, and a 1.5 MB file can expand to gigabytes. Every part's uncompressed size is read from
the archive's directory and checked before openpyxl opens anything: the shared strings are loaded whole (even in
read-only mode), the sheets are streamed, and the rest is small in any real workbook. zipfile never reads past a part's
declared size, so a directory that lies only makes the file fail as damaged.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Generator, Iterable, Iterator
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
# A sheet is streamed, but its size is the time a worker spends on it (and bounds one cell's text): a million rows
# of two or three columns is ~100 MB.
MAX_SHEET_BYTES = 128 * MB
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
            limit, what = MAX_SHARED_STRINGS_BYTES, "sus textos ocupan"
        elif name.startswith("xl/worksheets/"):
            limit, what = MAX_SHEET_BYTES, "una de sus hojas ocupa"
        else:
            limit, what = MAX_OTHER_PART_BYTES, f"la parte «{info.filename[:60]}» ocupa"
        if info.file_size > limit:
            raise ImportFileError(
                f"El libro de Excel es demasiado grande una vez descomprimido: {what} "
                f"{_thousands(-(-info.file_size // MB))} MB y el máximo es {limit // MB} MB. Guárdelo como CSV o "
                "divídalo en partes."
            )


def read_xlsx(stream: BinaryIO) -> ParsedFile:
    from openpyxl.utils.exceptions import InvalidFileException

    check_parts(stream)
    stream.seek(0)
    try:
        book = _open_workbook(stream)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise ImportFileError(_DAMAGED) from exc
    try:
        first_headers: list[Any] = []
        for sheet in book.worksheets:  # chart sheets are left out by _open_workbook
            records = _sheet_rows(sheet)
            head: list[dict[int, Any]] = []
            for cells in records:
                head.append(cells)
                values = _row_values(cells)
                column = find_cedula_column(values)
                if column is not None:
                    rows = list(_column_rows(records, column, first_number=len(head) + 1))
                    return ParsedFile(kind="xlsx", column=str(values[column]).strip(), rows=rows, sheet=sheet.title)
                if len(head) >= HEADER_SEARCH_ROWS:
                    break
            records.close()
            if not first_headers:
                first_headers = next(
                    (_row_values(c) for c in head if any(_cell_text(v).strip() for v in c.values())), []
                )
        raise ImportFileError(_missing_column_message(first_headers) + " Se revisaron todas las hojas del libro.")
    except ImportFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on a damaged part of the archive
        raise ImportFileError(_DAMAGED) from exc
    finally:
        book.close()


def _open_workbook(stream: BinaryIO) -> Any:
    """openpyxl's load_workbook(read_only=True, data_only=True), minus its look at each sheet's size: a sheet without a
    <dimension> element is parsed whole, into a tree kept until the end, to find one (1.9 GB for 20 million rows)."""
    from openpyxl.reader.excel import ExcelReader  # only imports pay for openpyxl
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class Sheet(ReadOnlyWorksheet):
        def _get_size(self) -> None:
            pass  # _sheet_rows needs no dimensions

    class Reader(ExcelReader):
        def read_worksheets(self) -> None:
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    found = Sheet(self.wb, sheet.name, rel.target, self.shared_strings)
                    self.wb._sheets.append(found)  # type: ignore[attr-defined]  # what load_workbook does

    reader = Reader(stream, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _sheet_rows(sheet: Any) -> Generator[dict[int, Any]]:
    """A sheet's rows as {column index (0-based): value}, rows missing from the file as empty ones.

    Not openpyxl's iter_rows: its parser leaves every parsed row attached to the document (about 80 bytes each: 1.6 GB
    for 20 million blank rows), keeps each row's dimensions, pads each row to its last column, and lets a row hold
    all its cells at once. Here each cell is read by openpyxl's own parse_cell (types, shared strings, dates) and
    dropped, and each row is dropped once read: memory does not grow with the sheet.
    """
    from openpyxl.worksheet._reader import CELL_TAG, ROW_TAG, WorkSheetParser
    from openpyxl.xml.functions import iterparse

    book = sheet.parent
    parser = WorkSheetParser(
        None,  # type: ignore[arg-type]  # only parse_cell is used: it reads no source
        sheet._shared_strings,  # read-only worksheets keep the book's shared strings here (openpyxl 3.1)
        data_only=True,
        epoch=book.epoch,
        date_formats=book._date_formats,
        timedelta_formats=book._timedelta_formats,
    )
    expected = 1  # the next row number; a row the file skips is an empty row
    depth = 0
    parents: list[Any] = []
    cells: dict[int, Any] = {}
    with sheet._get_source() as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                depth += 1
                parents.append(element)
                if depth == 3 and element.tag == ROW_TAG:
                    number = element.get("r")
                    parser.row_counter = int(float(number)) if number else parser.row_counter + 1
                    parser.col_counter = 0
                    cells = {}
                continue
            parents.pop()
            depth -= 1
            if depth == 3 and element.tag == CELL_TAG:
                cell = parser.parse_cell(element)
                cells[cell["column"] - 1] = cell["value"]
            elif depth == 2 and element.tag == ROW_TAG:
                while expected < parser.row_counter:
                    expected += 1
                    yield {}
                expected = parser.row_counter + 1
                yield cells
            if parents and depth <= 3:
                # A cell, a row or a part of the sheet is read: its parent lets go of it. What a cell holds (its value,
                # an inline string) goes with the cell.
                parents[-1].clear()


def _row_values(cells: dict[int, Any]) -> list[Any]:
    """A header candidate as a list (at most the first few rows of a sheet, so the width does not matter)."""
    values: list[Any] = [None] * (max(cells) + 1 if cells else 0)
    for index, value in cells.items():
        values[index] = value
    return values


def _column_rows(records: Iterable[dict[int, Any]], column: int, *, first_number: int) -> Iterator[SourceRow]:
    """XLSX rows: cells are numbers, dates or text; only the cedula's and whether any other is filled matter."""
    return _text_rows(([_cell_text(cells.get(column)), *map(_cell_text, cells.values())] for cells in records), 0,
                      first_number)  # fmt: skip


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
