"""Issue 25, findings 1 and 2: an upload is bounded end to end (body, file on disk, XLSX parts, rows, memory)."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse

from cedula.importing import ImportFileError, SourceRow, read_table
from cedula.models import CedulaInfo
from tests.helpers.imports import csv_bytes, xlsx_bytes, xlsx_with_shared_strings

IMPORT = "admin:cedula_cedulainfo_import"


def _with_part(xlsx: bytes, name: str, content: bytes) -> bytes:
    """The same workbook with one part replaced (or added): how a small file expands to a huge one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
        target.writestr(name, content)
    return out.getvalue()


def _shared_strings_bomb(megabytes: int) -> bytes:
    """Excel's shape (text cells point into the shared strings), with the shared strings padded to `megabytes`."""
    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>']
    block = b"<si><t>x</t></si>" * 65536
    strings = [b"<si><t>cedula</t></si><si><t>1234567</t></si>", *[block] * (megabytes * 2**20 // len(block))]
    return xlsx_with_shared_strings(rows, strings)


def test_an_xlsx_with_shared_strings_under_the_limit_reads():
    parsed = read_table(_shared_strings_bomb(1), "textos.xlsx")

    assert parsed.rows == [SourceRow(2, "1234567")]


def test_an_xlsx_whose_shared_strings_expand_past_the_limit_is_refused_before_it_is_opened():
    data = _shared_strings_bomb(40)
    assert len(data) < 1_000_000  # small on the wire: the 1.5 MB file of the finding is the same shape

    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError) as refused:
            read_table(data, "bomba.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "demasiado grande una vez descomprimido" in str(refused.value)
    assert "sus textos ocupan 40 MB y el máximo es 32 MB" in str(refused.value)
    assert peak < 10 * 2**20  # nothing was parsed


def test_an_xlsx_sheet_that_expands_past_the_limit_is_refused_before_it_is_opened(monkeypatch):
    monkeypatch.setattr("cedula.importing_xlsx.MAX_SHEET_BYTES", 2 * 2**20)  # 256 MB in production
    book = xlsx_bytes({"Hoja": [["cedula"], ["1234567"]]})
    rows = b"".join(b'<row r="%d"/>' % n for n in range(2, 300_000))
    sheet = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    data = _with_part(book, "xl/worksheets/sheet1.xml", sheet + rows + b"</sheetData></worksheet>")

    with pytest.raises(ImportFileError, match="una de sus hojas ocupa 5 MB y el máximo es 2 MB"):
        read_table(data, "filas.xlsx")


def test_blank_xlsx_rows_count_toward_the_row_limit(monkeypatch):
    monkeypatch.setattr("cedula.importing.MAX_ROWS", 50)
    data = xlsx_bytes({"Hoja": [["cedula"], *([None] for _ in range(60)), ["1234567"]]})

    with pytest.raises(ImportFileError, match="más de 50 filas"):
        read_table(data, "blancas.xlsx")


def test_an_xlsx_of_blank_rows_is_read_in_bounded_memory(monkeypatch):
    # No <dimension> element: openpyxl's load_workbook parsed such a sheet whole to size it, and its iter_rows kept
    # every parsed row (the finding's 20 million blank rows held a worker at 1.9 GB).
    monkeypatch.setattr("cedula.importing.MAX_ROWS", 200_000)
    blank = b"".join(b'<row r="%d" ht="15" customHeight="1"/>' % n for n in range(2, 300_002))
    data = xlsx_with_shared_strings(
        [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>', blank], [b"<si><t>cedula</t></si>"]
    )

    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match="más de 200.000 filas"):
            read_table(data, "blancas.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 5 * 2**20, f"peak {peak / 2**20:.1f} MB"


def test_xlsx_cells_of_every_kind_read_as_before():
    rows = [
        b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>nota</t></is></c></row>',
        b'<row r="2"><c r="A2"><v>1234567</v></c><c r="C2" t="str"><v>x</v></c></row>',
        b'<row r="4"><c r="A4" t="s"><v>1</v></c></row>',
        b'<row><c t="inlineStr"><is><t>7654321</t></is></c></row>',
        b'<row r="7"><c r="B7" t="b"><v>1</v></c></row>',
    ]
    parsed = read_table(xlsx_with_shared_strings(rows, [b"<si><t>C\xc3\xa9dula</t></si><si><t>1.234.568</t></si>"]))

    assert parsed.column == "Cédula"
    assert parsed.rows == [
        SourceRow(2, "1234567"),
        SourceRow(4, "1.234.568"),
        SourceRow(5, "7654321"),
        SourceRow(7, ""),
    ]


def test_blank_csv_lines_count_toward_the_row_limit(monkeypatch):
    monkeypatch.setattr("cedula.importing.MAX_ROWS", 50)

    with pytest.raises(ImportFileError, match="más de 50 filas"):
        read_table(b"cedula,nombre\n" + b",\n" * 60 + b"1234567,Ana\n", "blancas.csv")


def test_a_file_of_exactly_the_row_limit_still_reads(monkeypatch):
    monkeypatch.setattr("cedula.importing.MAX_ROWS", 50)

    parsed = read_table(csv_bytes([["cedula"], *([str(1_000_000 + n)] for n in range(50))]), "justo.csv")

    assert len(parsed.rows) == 50


def test_a_file_object_is_read_in_chunks_never_whole():
    class Watched(io.BytesIO):
        biggest = 0

        def read(self, size: int | None = -1) -> bytes:
            if size is None or size < 0:
                raise AssertionError("the whole file was read at once")
            Watched.biggest = max(Watched.biggest, size)
            return super().read(size)

    data = csv_bytes([["cedula"], *([str(1_000_000 + n)] for n in range(300_000))])
    parsed = read_table(Watched(data), "grande.csv")

    assert len(parsed.rows) == 300_000
    assert Watched.biggest <= 2**20


class CountingInput(io.BytesIO):
    """A request body that tells how much of it the server read."""

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken = getattr(self, "taken", 0) + len(chunk)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        self.taken = getattr(self, "taken", 0) + len(line)
        return line


@pytest.mark.django_db
def test_a_body_over_the_cap_is_refused_unread_with_a_spanish_reason(admin_client, settings):
    settings.UPLOAD_MAX_BODY_MB = 1
    body = encode_multipart(
        BOUNDARY, {"import_file": SimpleUploadedFile("grande.csv", b"cedula\n" + b"1234567\n" * 300_000)}
    )
    stream = CountingInput(body)

    response = admin_client.generic(
        "POST", reverse(IMPORT), CONTENT_TYPE=MULTIPART_CONTENT, CONTENT_LENGTH=str(len(body)), **{"wsgi.input": stream}
    )

    assert response.status_code == 303
    assert response["Location"] == reverse(IMPORT)
    assert getattr(stream, "taken", 0) == 0
    page = admin_client.get(reverse(IMPORT)).content.decode()
    assert "El archivo es demasiado grande: el máximo es 1 MB. Divídalo en partes y súbalo de nuevo." in page
    assert not CedulaInfo.objects.exists()


def test_the_upload_handler_stops_reading_a_body_past_the_cap(settings, rf):
    from django.core.files.uploadhandler import TemporaryFileUploadHandler
    from django.http.multipartparser import MultiPartParser

    from ops.uploads import REFUSED_ATTR, BodyLimitUploadHandler

    settings.UPLOAD_MAX_BODY_MB = 1
    body = encode_multipart(BOUNDARY, {"import_file": SimpleUploadedFile("grande.csv", b"1234567\n" * 1_000_000)})
    stream = CountingInput(body)
    request = rf.post("/")
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    handlers = [BodyLimitUploadHandler(request), TemporaryFileUploadHandler(request)]

    _, files = MultiPartParser(meta, stream, handlers).parse()

    assert "import_file" not in files
    assert stream.taken < 2 * 2**20  # of 8 MB: the rest of the body was never read
    assert "demasiado grande" in getattr(request, REFUSED_ATTR)


@pytest.mark.django_db
def test_a_big_upload_refused_for_its_content_is_never_held_in_memory(admin_client):
    # 20 MB with no cedula column: refused from its first lines. The old view joined the file and decoded it whole.
    data = b"nombre,telefono\n" + b"Ana Maria Perez Gomez,3001234567\n" * 620_000
    body = encode_multipart(BOUNDARY, {"import_file": SimpleUploadedFile("sin-cedula.csv", data)})
    del data
    stream = CountingInput(body)  # built before the count starts: the test client would copy the body

    tracemalloc.start()
    try:
        response = admin_client.generic(
            "POST",
            reverse(IMPORT),
            CONTENT_TYPE=MULTIPART_CONTENT,  # the client sets it only for a body it was given itself
            CONTENT_LENGTH=str(len(body)),
            **{"wsgi.input": stream},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "No se encontró la columna de cédulas" in response.content.decode(), response.context["form"].errors
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MB for a 20 MB upload"


@pytest.mark.django_db
def test_the_import_page_says_why_an_xlsx_bomb_is_refused(admin_client):
    response = admin_client.post(
        reverse(IMPORT), {"import_file": SimpleUploadedFile("bomba.xlsx", _shared_strings_bomb(40))}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "El libro de Excel es demasiado grande una vez descomprimido" in page
    assert response.context["confirm_form"] is None


def test_invalid_and_duplicate_rows_are_counted_all_but_kept_only_up_to_a_limit(monkeypatch):
    # A million invalid rows with their messages took 250 MB; the first ten thousand say what there is to say.
    from cedula.importing import classify_rows

    monkeypatch.setattr("cedula.importing.ROWS_KEPT", 5)
    rows = [SourceRow(n, "abc") for n in range(2, 10)] + [SourceRow(n, "1234567") for n in range(10, 20)]

    classified = classify_rows(rows)

    assert (classified.invalid_count, len(classified.invalid)) == (8, 5)
    assert (classified.duplicate_count, len(classified.duplicates)) == (9, 5)
    assert classified.total == 18


@pytest.mark.django_db
def test_the_report_counts_every_invalid_row_when_only_some_are_kept(monkeypatch):
    from cedula import services

    monkeypatch.setattr("cedula.importing.ROWS_KEPT", 5)
    report = services.cedula_import_preview(rows=[SourceRow(n, "abc") for n in range(2, 10)], file_name="x.csv")

    assert report.invalid == 8
    assert len(report.invalid_rows) == 5
