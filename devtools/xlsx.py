"""A workbook written as Excel writes it (text cells in xl/sharedStrings.xml), its big parts streamed: what the import
tests and the upload memory bench send. openpyxl itself writes inline strings, so a file from it has no
shared-strings part to expand."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import Any

XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_FIXED = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{XLSX_MAIN}" xmlns:r="{_XLSX_REL}"><sheets>'
        '<sheet name="Hoja1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_XLSX_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}


def xlsx_with_shared_strings(sheet_rows: Iterable[bytes], strings: Iterable[bytes], out: Any = None) -> bytes:
    """A workbook as Excel writes it (text cells point into xl/sharedStrings.xml), its two big parts streamed in.

    `sheet_rows` are <row> elements, `strings` the inside of <sst>. openpyxl itself writes inline strings, so a file
    from it has no shared-strings part to expand.
    """
    target = out if out is not None else io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in _XLSX_FIXED.items():
            book.writestr(name, text)
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<sst xmlns="{XLSX_MAIN}">'.encode())
            for piece in strings:
                part.write(piece)
            part.write(b"</sst>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(f'<worksheet xmlns="{XLSX_MAIN}"><sheetData>'.encode())
            for piece in sheet_rows:
                part.write(piece)
            part.write(b"</sheetData></worksheet>")
    return target.getvalue() if out is None else b""
