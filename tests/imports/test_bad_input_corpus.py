"""Every file of the bad-input corpus (tests/fixtures/bad_inputs/) through the command and through the console.

Each file has one right answer: refused as a whole with a clear Spanish message, blocked by its invalid rows, or
imported with exact counts. Never a 500, a traceback, or a partial import: when nothing is imported, the CedulaInfo
and ImportBatch tables are exactly as before.
"""

from __future__ import annotations

import html
import importlib.util
import json
from io import StringIO
from pathlib import Path
from typing import NamedTuple

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from cedula.models import CedulaInfo, ImportBatch, Status

pytestmark = pytest.mark.django_db

CORPUS_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "bad_inputs"
_spec = importlib.util.spec_from_file_location("make_corpus", CORPUS_DIR / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_corpus)

KNOWN = "2345678"  # already in the console before every import


class Refused(NamedTuple):
    message: str


class Blocked(NamedTuple):
    total: int
    invalid: int
    message: str  # in the row report


class Imported(NamedTuple):
    total: int
    new: frozenset[str]
    existing: int
    duplicates: int


def imported(total: int, new: set[str], existing: int = 0, duplicates: int = 0) -> Imported:
    return Imported(total, frozenset(new), existing, duplicates)


NOT_EXCEL = "no es un libro de Excel (.xlsx) válido o está dañado"
NO_COLUMN = "No se encontró la columna de cédulas"
BINARY = "no es un CSV ni un XLSX: tiene contenido binario"
TWO = {"1234567", "7654321"}

EXPECTED: dict[str, Refused | Blocked | Imported] = {
    "empty.csv": Refused("está vacío."),  # the upload form says "El fichero enviado está vacío."
    "header_only.csv": Refused("solo tiene el encabezado «cedula»"),
    "only_blank_lines.csv": Refused("El archivo está vacío."),
    "binary_junk.csv": Refused(BINARY),
    "png_renamed.csv": Refused(BINARY),
    "nul_bytes.csv": Refused(BINARY),
    "wrong_delimiter_pipes.csv": Refused("Encabezados leídos: «cedula|nombre». Separe las columnas con coma"),
    "header_in_english.csv": Refused("Encabezados leídos: «ID number», «Full name»"),
    "no_header.csv": Refused(NO_COLUMN),
    "html_saved_as.xls": Refused(NO_COLUMN),
    "old_format.xls": Refused("Es un archivo .xls de Excel 97-2003: guárdelo como .xlsx o como CSV"),
    "truncated.xlsx": Refused(NOT_EXCEL),
    "zip_not_xlsx.zip": Refused(NOT_EXCEL),
    "text_named.xlsx": Refused("tiene extensión .xlsx pero no es un libro de Excel válido"),
    "xlsx_no_cedula_column.xlsx": Refused("Se revisaron todas las hojas del libro"),
    "xlsx_header_only.xlsx": Refused("solo tiene el encabezado «Cédula»"),
    "huge_single_line.csv": Refused(NO_COLUMN),
    "huge_cell.csv": Refused("El CSV está mal formado cerca de la línea 3: una celda pasa de 131.072 caracteres"),
    "too_many_rows.csv": Refused("El archivo tiene más de 1.000.000 filas: divídalo en partes."),
    "nul_after_64k.csv": Blocked(9001, 1, "fila 8002: «12\x0034567» no es una cédula"),
    "formulas.csv": Blocked(5, 4, "fila 2: «=cmd|' /C calc'!A0» no es una cédula"),
    "digits_11_and_2.csv": Blocked(3, 2, "fila 3: «12» es demasiado corta"),
    "negative_numbers.csv": Blocked(2, 1, "fila 2: «-1234567» tiene un signo"),
    "scientific_notation.csv": Blocked(3, 2, "fila 2: «1.23457E+09» parece notación científica de Excel"),
    "empty_cedula_cells.csv": Blocked(3, 1, "fila 3: La cédula está vacía."),
    "unclosed_quote.csv": Blocked(1, 1, "fila 2: «1234567"),
    "letters_and_words.csv": Blocked(3, 2, "fila 3: «no tiene» no es una cédula"),
    "trailing_spaces_dotted.csv": imported(4, TWO, existing=1, duplicates=1),
    "bom_semicolons.csv": imported(2, TWO),
    "utf16_tabs.csv": imported(2, TWO),
    "utf16_no_bom.csv": imported(2, TWO),
    "latin1_header.csv": imported(2, TWO),
    "mixed_encodings.csv": imported(3, TWO, existing=1),
    "mixed_encodings_accented_header.csv": imported(3, TWO, existing=1),
    "quoted_embedded_newlines.csv": imported(3, TWO, existing=1),
    "title_rows_above_header.csv": imported(2, TWO),
    "excel_sep_line.csv": imported(2, TWO),
    "cr_only_line_endings.csv": imported(2, TWO),
    "dos_eof_marker.csv": imported(2, TWO),
    "duplicate_header_columns.csv": imported(2, TWO),  # the first «cedula» column wins
    "extremely_many_columns.csv": imported(3, TWO, existing=1),
    "xlsx_several_sheets.xlsx": imported(2, TWO),
    "xlsx_scientific_format.xlsx": imported(2, {"1234567890", "1023456789"}),
    "xlsx_renamed.csv": imported(2, TWO),
}

NAMES = sorted(EXPECTED)


def corpus_file(name: str) -> bytes:
    committed = CORPUS_DIR / name
    return committed.read_bytes() if committed.exists() else make_corpus.LARGE[name]()


@pytest.fixture(autouse=True)
def known_cedula(cedula_factory):
    return cedula_factory(cedula=KNOWN, status=Status.ACTIVE, next_attempt_at=None)


def snapshot() -> tuple[list[dict], int]:
    return list(CedulaInfo.objects.order_by("pk").values()), ImportBatch.objects.count()


def assert_readable_spanish(text: str) -> None:
    assert "Traceback" not in text
    assert "Error" not in text.replace("error", "")  # no exception class names
    assert "Server Error" not in text


def test_the_corpus_has_at_least_30_files_and_every_one_has_an_expected_result():
    files = set(make_corpus.CORPUS) | set(make_corpus.LARGE)
    assert len(files) >= 30
    assert set(EXPECTED) == files


@pytest.mark.parametrize("name", sorted(make_corpus.CORPUS))
def test_the_committed_file_is_what_make_corpus_writes(name):
    assert (CORPUS_DIR / name).read_bytes() == make_corpus.CORPUS[name]()


# --- the command (and the import service behind it) ----------------------------------------------------------------


def run_command(path: Path) -> tuple[int, dict | None, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_cedulas", str(path), stdout=out, stderr=err)
        code = 0
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    stdout = out.getvalue()
    return code, json.loads(stdout) if stdout else None, err.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_the_command_gives_the_expected_result(name, tmp_path):
    expected = EXPECTED[name]
    path = tmp_path / name
    path.write_bytes(corpus_file(name))
    before = snapshot()

    code, counts, stderr = run_command(path)

    assert_readable_spanish(stderr)
    if isinstance(expected, Refused):
        assert (code, counts) == (2, None)
        assert expected.message in stderr
        assert snapshot() == before
    elif isinstance(expected, Blocked):
        assert code == 1
        assert (counts["blocked"], counts["imported"], counts["batch_id"]) == (True, False, None)
        assert (counts["total_rows"], counts["invalid"]) == (expected.total, expected.invalid)
        assert expected.message in stderr
        assert "no se importó nada" in stderr
        assert snapshot() == before
    else:
        assert code == 0
        batch = ImportBatch.objects.get()
        assert counts == {
            "file": name,
            "total_rows": expected.total,
            "new": len(expected.new),
            "existing": expected.existing,
            "requeued": 0,
            "duplicates": expected.duplicates,
            "invalid": 0,
            "imported": True,
            "blocked": False,
            "batch_id": batch.pk,
        }
        assert set(batch.cedulas.values_list("cedula", flat=True)) == expected.new
        assert CedulaInfo.objects.count() == len(before[0]) + len(expected.new)


# --- the console's import screen --------------------------------------------------------------------------------------

IMPORT = "admin:cedula_cedulainfo_import"
PROCESS = "admin:cedula_cedulainfo_process_import"


def upload(client, data: bytes, name: str):
    return client.post(reverse(IMPORT), {"import_file": SimpleUploadedFile(name, data)})


def confirm(client, preview):
    fields = {
        field: preview.context["confirm_form"][field].value()
        for field in ("import_file_name", "original_file_name", "format", "resource")
    }
    return client.post(reverse(PROCESS), {k: v for k, v in fields.items() if v is not None})


@pytest.mark.parametrize("name", NAMES)
def test_the_import_screen_gives_the_expected_result(name, admin_client):
    expected = EXPECTED[name]
    before = snapshot()

    preview = upload(admin_client, corpus_file(name), name)

    assert preview.status_code == 200
    page = html.unescape(preview.content.decode())
    assert_readable_spanish(page)
    if isinstance(expected, Refused):
        assert expected.message in page
        assert preview.context["confirm_form"] is None
        assert snapshot() == before
        return
    report = preview.context["report"]
    assert report.total_rows == expected.total
    assert snapshot() == before  # a preview writes nothing

    done = confirm(admin_client, preview)

    if isinstance(expected, Blocked):
        assert (report.blocked, report.invalid) == (True, expected.invalid)
        assert done.status_code == 200
        blocked_page = html.unescape(done.content.decode())
        rows = "1 fila inválida" if expected.invalid == 1 else f"{expected.invalid} filas inválidas"
        assert f"No se importó nada: el archivo tiene {rows}" in blocked_page
        assert expected.message.split(": ", 1)[1] in blocked_page  # the row's reason is shown
        assert_readable_spanish(blocked_page)
        assert snapshot() == before
    else:
        assert (report.blocked, report.new, report.existing, report.duplicates) == (
            False,
            len(expected.new),
            expected.existing,
            expected.duplicates,
        )
        assert done.status_code == 302
        batch = ImportBatch.objects.get()
        assert done["Location"].endswith(f"?import_batch__id__exact={batch.pk}")
        assert (batch.total_rows, batch.new_rows, batch.existing_rows, batch.duplicate_rows, batch.invalid_rows) == (
            expected.total,
            len(expected.new),
            expected.existing,
            expected.duplicates,
            0,
        )
        assert set(batch.cedulas.values_list("cedula", flat=True)) == expected.new
        assert admin_client.get(done["Location"]).status_code == 200
