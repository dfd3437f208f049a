"""Every export staff download (the cedula list, attempts, changes, a batch's results) in their words and for the
spreadsheet they open it with: Spanish column headers, and CSV as es-CO Excel reads it (a `;` between columns, since
the comma is the decimal mark there, and a byte-order mark so accents survive). EXPORT_CSV_DELIMITER changes the
separator. Every cell is neutralised against spreadsheet formulas."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst
from import_export.formats.base_formats import CSV, XLSX

from cedula.importing import escape_formula

CSV_ENCODING = "utf-8-sig"  # with a BOM: Excel reads UTF-8 only when the file says so


class SpreadsheetCSV(CSV):
    def export_data(self, dataset: Any, **kwargs: Any) -> str:
        return dataset.export("csv", delimiter=settings.EXPORT_CSV_DELIMITER, **kwargs)


EXPORT_FORMATS = [SpreadsheetCSV, XLSX]


class ExportFormatsMixin:
    """For an admin with exports: the spreadsheet CSV (with its BOM) and XLSX."""

    export_formats = EXPORT_FORMATS
    to_encoding = CSV_ENCODING


class SpanishExportMixin:
    """For a ModelResource: each column headed by its field's Spanish name ("Última consulta", not last_checked),
    unless the resource names it itself; every value safe from formula injection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self._meta.model  # type: ignore[attr-defined]
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            if field.column_name != name:
                continue
            try:
                verbose = model._meta.get_field(name).verbose_name
            except FieldDoesNotExist:
                verbose = name.replace("_", " ")
            field.column_name = capfirst(str(verbose))

    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return escape_formula(super().export_field(field, instance, **kwargs))  # type: ignore[misc]


def csv_body(dataset: Any) -> bytes:
    """A dataset as the spreadsheet CSV download's bytes (for views that build their own response)."""
    return SpreadsheetCSV().export_data(dataset).encode(CSV_ENCODING)
