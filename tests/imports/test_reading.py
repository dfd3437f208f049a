"""Reading files and classifying values: pure, no database."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from cedula.importing import (
    MAX_FILE_BYTES,
    ImportFileError,
    InvalidRow,
    SourceRow,
    classify_rows,
    escape_formula,
    find_cedula_column,
    parsed_from_json,
    parsed_to_json,
    read_table,
    rejected_rows_csv,
)
from tests.helpers.imports import csv_bytes, xlsx_bytes

ROWS = [["cédula", "nombre"], ["1.234.567", "Ana Muñoz"], ["80123456", "José Peña"]]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("utf-16", "utf-16")],
)
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_it_reads_csv_in_every_encoding_excel_writes(encoding, expected, delimiter):
    parsed = read_table(csv_bytes(ROWS, delimiter=delimiter, encoding=encoding), "c.csv")

    assert parsed.kind == "csv"
    assert parsed.encoding == expected
    assert parsed.delimiter == delimiter
    assert parsed.column == "cédula"
    assert parsed.rows == [SourceRow(2, "1.234.567"), SourceRow(3, "80123456")]


def test_it_reads_a_latin1_header_with_accents_from_excel():
    data = "CÉDULA;Dirección\r\n1234567;Cra 7 # 3-2\r\n".encode("latin-1")

    parsed = read_table(data, "excel.csv")

    assert parsed.column == "CÉDULA"
    assert parsed.rows == [SourceRow(2, "1234567")]


def test_it_reads_tab_separated_unicode_text():
    parsed = read_table(csv_bytes(ROWS, delimiter="\t", encoding="utf-16"), "c.txt")

    assert parsed.delimiter == "\t"
    assert [r.value for r in parsed.rows] == ["1.234.567", "80123456"]


def test_a_single_column_file_keeps_thousands_commas_inside_the_value():
    parsed = read_table(b"cedula\n1,234,567\n", "c.csv")

    assert parsed.rows == [SourceRow(2, "1,234,567")]


def test_quoted_values_with_the_delimiter_inside_are_one_cell():
    parsed = read_table('nombre,cedula\n"Peña, Ana","1,234,567"\n'.encode(), "c.csv")

    assert parsed.rows == [SourceRow(2, "1,234,567")]


@pytest.mark.parametrize(
    "header", ["cedula", "Cédula", "  CEDULA ", "CÉDULA", "cé dula", "Documento", "NUIP", "nuip", "cedula_"]
)
def test_it_finds_the_cedula_column_whatever_the_case_accents_or_spaces(header):
    parsed = read_table(csv_bytes([["nombre", header, "otra"], ["Ana", "1234567", "x"]]), "c.csv")

    assert parsed.column == header.strip()
    assert parsed.rows == [SourceRow(2, "1234567")]


def test_cedula_wins_over_documento_when_both_are_present():
    assert find_cedula_column(["documento", "Cédula"]) == 1


def test_title_rows_above_the_header_are_skipped_and_row_numbers_stay_true():
    data = csv_bytes([["Listado de junio"], [""], ["cedula"], ["1234567"], [""], ["7654321"]])

    parsed = read_table(data, "c.csv")

    assert parsed.rows == [SourceRow(4, "1234567"), SourceRow(6, "7654321")]


def test_a_row_with_other_cells_but_no_cedula_is_kept_as_a_row():
    parsed = read_table(b"cedula,nombre\n,Ana\n", "c.csv")

    assert parsed.rows == [SourceRow(2, "")]


def test_it_reads_xlsx_number_and_text_cells():
    data = xlsx_bytes({"Hoja1": [["Nombre", "Cédula"], ["Ana", 1234567], ["Bo", "0001234568"], ["Cy", 80123456.0]]})

    parsed = read_table(data, "c.xlsx")

    assert parsed.kind == "xlsx"
    assert parsed.sheet == "Hoja1"
    assert parsed.rows == [SourceRow(2, "1234567"), SourceRow(3, "0001234568"), SourceRow(4, "80123456")]


def test_it_uses_the_first_xlsx_sheet_that_has_a_cedula_column():
    data = xlsx_bytes(
        {
            "Resumen": [["Total", 2]],
            "Datos": [["Listado"], ["nuip"], [1234567], [7654321]],
            "Otros": [["cedula"], [111111]],
        }
    )

    parsed = read_table(data, "c.xlsx")

    assert parsed.sheet == "Datos"
    assert parsed.rows == [SourceRow(3, "1234567"), SourceRow(4, "7654321")]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "c.csv", "vacío"),
        (b"  \r\n\r\n", "c.csv", "vacío"),
        (b"cedula\r\n", "c.csv", "solo tiene el encabezado"),
        (b"cedula;nombre\r\n\r\n;\r\n", "c.csv", "solo tiene el encabezado"),
        (bytes(range(256)) * 8, "c.csv", "binario"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(200)), "foto.csv", "binario"),
        (b"cedula|nombre\n1234567|Ana\n", "c.csv", "No se encontró la columna de cédulas"),
        (b"nombre,telefono\nAna,300\n", "c.csv", "Encabezados leídos: «nombre», «telefono»"),
        (b"1234567\n7654321\n", "c.csv", "No se encontró la columna de cédulas"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "viejo.xls", ".xls de Excel 97-2003"),
        (b"PK\x03\x04 not really a zip", "c.xlsx", "no es un libro de Excel"),
        (b"cedula\n123\n", "c.xlsx", "extensión .xlsx pero no es un libro"),
    ],
)
def test_unreadable_files_raise_a_clear_error(data, name, message):
    with pytest.raises(ImportFileError, match=message):
        read_table(data, name)


def test_an_xlsx_without_a_cedula_column_in_any_sheet_is_refused():
    data = xlsx_bytes({"A": [["nombre"], ["Ana"]], "B": [["telefono"], [300]]})

    with pytest.raises(ImportFileError, match="Se revisaron todas las hojas"):
        read_table(data, "c.xlsx")


def test_an_xlsx_with_only_the_header_is_refused():
    with pytest.raises(ImportFileError, match="solo tiene el encabezado"):
        read_table(xlsx_bytes({"A": [["cedula"]]}), "c.xlsx")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "está vacía"),
        ("   ", "está vacía"),
        ("abc", "no es una cédula"),
        ("123-456", "no es una cédula"),
        ("-1234567", "tiene un signo"),
        ("1.23457E+09", "notación científica"),
        ("1,23457E+9", "notación científica"),
        ("12", "demasiado corta"),
        ("000", "demasiado corta"),
        ("12345678901", "demasiado larga"),
    ],
)
def test_every_invalid_value_gets_its_reason(value, reason):
    result = classify_rows([SourceRow(7, value)])

    assert result.valid == {}
    assert len(result.invalid) == 1
    invalid = result.invalid[0]
    assert (invalid.number, invalid.value) == (7, value)
    assert reason in invalid.reason


def test_duplicates_are_the_same_cedula_in_any_format_after_its_first_row():
    rows = [SourceRow(2, "1.234.567"), SourceRow(3, "1234567"), SourceRow(4, "0001234567"), SourceRow(5, "999")]

    result = classify_rows(rows)

    assert result.total == 4
    assert result.valid == {"1234567": 2, "999": 5}
    assert [(d.number, d.first_number, d.cedula) for d in result.duplicates] == [
        (3, 2, "1234567"),
        (4, 2, "1234567"),
    ]


@pytest.mark.parametrize("value", ["=1+1", "+57", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_text_is_escaped(value):
    assert escape_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["1234567", "Bogotá D.C.", "", None, 5])
def test_harmless_values_pass_unchanged(value):
    assert escape_formula(value) == value


def test_the_rejected_rows_csv_opens_in_excel_and_escapes_formulas():
    data = rejected_rows_csv([InvalidRow(3, '=HYPERLINK("x")', "«=HYPERLINK» no es una cédula")])

    assert data.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["fila", "valor", "motivo"], ["3", '\'=HYPERLINK("x")', "«=HYPERLINK» no es una cédula"]]


def test_a_reading_survives_the_trip_through_temporary_storage():
    parsed = read_table(csv_bytes(ROWS, delimiter=";", encoding="cp1252"), "c.csv")

    assert parsed_from_json(parsed_to_json(parsed)) == parsed


@pytest.mark.parametrize("stored", [b"", b"not json", b'{"rows": [[1]]}', b"[]"])
def test_a_damaged_stored_reading_asks_for_the_file_again(stored):
    with pytest.raises(ImportFileError, match="súbalo de nuevo"):
        parsed_from_json(stored)


def test_a_file_over_the_size_limit_is_refused_before_reading_it():
    with pytest.raises(ImportFileError, match="divídalo en partes"):
        read_table(b"cedula\n" + b"1234567\n" * (MAX_FILE_BYTES // 8), "enorme.csv")
