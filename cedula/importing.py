"""Reading a file of cedulas (pure: bytes in, rows out; no ORM, no Django).

Staff bring whatever their spreadsheet produced: CSV with commas or semicolons, UTF-8 with or without a BOM, Latin-1
(Windows-1252) from Excel, UTF-16 "Unicode text", or XLSX with several sheets. We find the cedula column by its header,
keep only that column and give every value its spreadsheet row number, so a report can point at the exact cell.
Classifying values (valid, duplicate, invalid) is also pure and lives here; the database side is in services.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from cedula.normalize import MAX_DIGITS, MIN_DIGITS, normalize_cedula

# Header names accepted for the cedula column, in order of preference when several are present.
HEADER_NAMES = ("cedula", "nuip", "documento")
# A title or a blank line above the header is common in spreadsheets; we look this far down for it.
HEADER_SEARCH_ROWS = 10
# Far above any real file (the registry answers ~17,000 lookups a day); protects the server's memory.
MAX_ROWS = 1_000_000
# Invalid and duplicate rows kept with their reasons (the rest are counted): a million invalid rows with their
# messages would take 250 MB to say what the first ten thousand already say.
ROWS_KEPT = 10_000
MAX_FILE_BYTES = 64 * 1024 * 1024  # a million cedulas in CSV is ~25 MB
CHUNK_BYTES = 1024 * 1024  # a file is read this much at a time
SAMPLE_BYTES = 65536  # what the type, encoding and delimiter are told from
CSV_DELIMITERS = (";", ",", "\t")
# A spreadsheet treats a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (Excel 97-2003)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (the message is for people, in Spanish)."""


class SourceRow(NamedTuple):
    number: int  # the row number a spreadsheet shows (the header row counts)
    value: str


@dataclass(frozen=True)
class ParsedFile:
    kind: str  # "csv" | "xlsx"
    column: str  # the header as written in the file
    rows: list[SourceRow]
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""


_PARSED_META = ("kind", "column", "encoding", "delimiter", "sheet")


def parsed_to_json(parsed: ParsedFile) -> bytes:
    """The reading of a file, kept between preview and confirm so the confirm step does not parse it again."""
    return b"".join(parsed_json_chunks(parsed))


def parsed_json_chunks(parsed: ParsedFile, rows_per_chunk: int = 10_000) -> Iterator[bytes]:
    """The same JSON a piece at a time: a million rows are written to disk without a second copy in memory."""
    meta = json.dumps({k: getattr(parsed, k) for k in _PARSED_META}, ensure_ascii=False, separators=(",", ":"))
    yield (meta[:-1] + ',"rows":[').encode("utf-8")
    for start in range(0, len(parsed.rows), rows_per_chunk):
        rows = json.dumps(parsed.rows[start : start + rows_per_chunk], ensure_ascii=False, separators=(",", ":"))
        yield (("," if start else "") + rows[1:-1]).encode("utf-8")
    yield b"]}"


def parsed_from_json(data: bytes) -> ParsedFile:
    try:
        stored = json.loads(data)
        rows = [SourceRow(int(number), str(value)) for number, value in stored.pop("rows")]
        return ParsedFile(**{k: str(stored[k]) for k in _PARSED_META}, rows=rows)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ImportFileError("La lectura guardada del archivo no es válida: súbalo de nuevo.") from exc


@dataclass(frozen=True, slots=True)
class InvalidRow:
    number: int
    value: str
    reason: str


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    number: int
    value: str
    cedula: str
    first_number: int  # the row where this cedula appeared first


@dataclass(frozen=True)
class Classified:
    total: int
    valid: dict[str, int]  # canonical cedula -> row number of its first appearance, in file order
    duplicates: list[DuplicateRow]  # the first ROWS_KEPT of them
    invalid: list[InvalidRow]  # the first ROWS_KEPT of them
    duplicate_count: int = 0
    invalid_count: int = 0


def header_key(text: Any) -> str:
    """ "  Cédula " -> "cedula": case, accents, spaces and punctuation do not matter in a header."""
    folded = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def find_cedula_column(cells: Iterable[Any]) -> int | None:
    keys = [header_key(cell) for cell in cells]
    for name in HEADER_NAMES:
        if name in keys:
            return keys.index(name)
    return None


def clean_file_name(name: str) -> str:
    """The name a browser or a shell gave the file, safe for a header, a log line and a 255-character column.

    A control or format character (CR/LF, NUL, a right-to-left override) in a name would break a Content-Disposition
    header or mislead a reader; a path would tell where the file came from. Both go at intake.
    """
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(" " if unicodedata.category(char).startswith("C") else char for char in base)
    return " ".join(cleaned.split())[:255] or "archivo"


def read_table(source: bytes | BinaryIO, file_name: str = "") -> ParsedFile:
    """An uploaded file -> the cedula column with row numbers. Raises ImportFileError.

    `source` is the bytes, or a seekable binary file that is read in chunks: a big upload is never joined in memory.
    """
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    size = stream.seek(0, io.SEEK_END)
    if size > MAX_FILE_BYTES:
        raise ImportFileError(f"El archivo pesa más de {MAX_FILE_BYTES // 2**20} MB: divídalo en partes.")
    stream.seek(0)
    head = stream.read(SAMPLE_BYTES)
    if not any(chunk.strip() for chunk in _chunks(stream)):
        raise ImportFileError("El archivo está vacío.")
    if head.startswith(_OLE_MAGIC):
        raise ImportFileError(
            "Es un archivo .xls de Excel 97-2003: guárdelo como .xlsx o como CSV e impórtelo de nuevo."
        )
    if head.startswith(_ZIP_MAGIC):
        from cedula.importing_xlsx import read_xlsx  # only XLSX files pay for openpyxl

        parsed = read_xlsx(stream)
    elif file_name.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError("El archivo tiene extensión .xlsx pero no es un libro de Excel válido.")
    else:
        parsed = _read_csv(stream, head, size)
    if not parsed.rows:
        raise ImportFileError(f"El archivo solo tiene el encabezado «{parsed.column}»: no hay cédulas que importar.")
    return parsed


# --- CSV ----------------------------------------------------------------------------------------------------------


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """The whole file, a chunk at a time, from its start."""
    stream.seek(0)
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _decodes(stream: BinaryIO, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(stream):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decoded_lines(stream: BinaryIO, encoding: str, errors: str = "strict") -> Iterator[str]:
    """Lines of text as csv wants them (line ends kept, CR-only ends split), decoded as they are read."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
    try:
        yield from text
    finally:
        with contextlib.suppress(ValueError):  # already closed by its owner when an abandoned reader is collected
            text.detach()  # the caller owns the file: closing the wrapper must not close it


def _open_text(stream: BinaryIO, head: bytes, size: int) -> tuple[Iterator[str], str]:
    if head.startswith(codecs.BOM_UTF8):
        return _decoded_lines(stream, "utf-8-sig", errors="replace"), "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded_lines(stream, "utf-16"), "utf-16"
    if b"\x00" in head:
        utf16 = _utf16_without_bom(stream, head, size)
        if utf16:
            return _decoded_lines(stream, utf16), utf16
        raise ImportFileError("El archivo no es un CSV ni un XLSX: tiene contenido binario.")
    if _decodes(stream, "utf-8"):
        return _decoded_lines(stream, "utf-8"), "utf-8"
    # Excel on Windows saves "CSV" in Windows-1252 (Latin-1 is the fallback for its five undefined bytes). A file
    # pasted together from several sources mixes UTF-8 and Windows-1252 lines, so each line is decoded on its own
    # (a first pass names the mixture, a second decodes as csv reads).
    kinds = {kind for _, kind in map(_decode_line, _raw_lines(stream)) if kind != "ascii"}
    encoding = "utf-8+cp1252" if len(kinds) > 1 else kinds.pop() if kinds else "cp1252"
    return (text for text, _ in map(_decode_line, _raw_lines(stream))), encoding


def _raw_lines(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    for line in stream:
        yield from line.splitlines(keepends=True)  # a CR-only line end is one too


def _decode_line(line: bytes) -> tuple[str, str]:
    if line.isascii():
        return line.decode("ascii"), "ascii"
    try:
        return line.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return line.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return line.decode("latin-1"), "cp1252"


def _utf16_without_bom(stream: BinaryIO, head: bytes, size: int) -> str:
    """ "Unicode text" whose BOM got lost: every other byte of the sample is NUL (ASCII-range text in UTF-16)."""
    sample = head[:4096]
    if size % 2 or len(sample) < 4:
        return ""
    high_even, high_odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    for encoding, zeros, others in (("utf-16-le", high_odd, high_even), ("utf-16-be", high_even, high_odd)):
        if zeros >= 0.9 * half and others == 0:
            return encoding if _decodes(stream, encoding) else ""
    return ""


def _without_ctrl_z(lines: Iterator[str]) -> Iterator[str]:
    """DOS programs still end a text file with Ctrl-Z; it is not a row."""
    previous = next(lines, None)
    for line in lines:
        yield previous  # type: ignore[misc]  # not None once a second line exists
        previous = line
    if previous is not None:
        yield previous.removesuffix("\x1a")


def _looks_binary(text: str) -> bool:
    sample = text[:65536]
    return len(_CONTROL.findall(sample)) > max(2, len(sample) // 100)


def _sniff_delimiter(text: str) -> tuple[str, list[str]]:
    """The delimiter under which one of the first lines reads as a header with a cedula column."""
    lines = [line for line in text[:65536].splitlines() if line.strip()][:HEADER_SEARCH_ROWS]
    for line in lines:
        for delimiter in sorted(CSV_DELIMITERS, key=lambda d: -line.count(d)):
            cells = next(csv.reader([line], delimiter=delimiter), [])
            if find_cedula_column(cells) is not None:
                return delimiter, cells
    first = lines[0] if lines else ""
    best = max(CSV_DELIMITERS, key=first.count)
    seen = next(csv.reader([first], delimiter=best), [])
    raise ImportFileError(_missing_column_message(seen, csv_hint=True))


def _missing_column_message(seen: list[Any], *, csv_hint: bool = False) -> str:
    shown = ", ".join(f"«{str(c).strip()[:40]}»" for c in seen[:8] if str(c or "").strip()) or "ninguno"
    message = (
        "No se encontró la columna de cédulas: el encabezado debe llamarse «cédula», «documento» o «nuip». "
        f"Encabezados leídos: {shown}."
    )
    if csv_hint:
        message += " Separe las columnas con coma o punto y coma."
    return message


def _read_csv(stream: BinaryIO, head: bytes, size: int) -> ParsedFile:
    lines, encoding = _open_text(stream, head, size)
    try:
        # The first lines (at least SAMPLE_BYTES characters of them) tell binary from text and find the delimiter.
        first: list[str] = []
        for line in lines:
            first.append(line)
            if sum(map(len, first)) >= SAMPLE_BYTES:
                break
        sample = "".join(first)[:SAMPLE_BYTES].removesuffix("\x1a")
        if _looks_binary(sample):
            raise ImportFileError("El archivo no es un CSV ni un XLSX: tiene contenido binario.")
        delimiter, _ = _sniff_delimiter(sample)
        records = csv.reader(_without_ctrl_z(itertools.chain(first, lines)), delimiter=delimiter)
        try:
            head_records = list(itertools.islice(records, HEADER_SEARCH_ROWS * 2))
            header_index, column, header = _locate_header(head_records)
            first_number = header_index + 2
            rest = itertools.chain(head_records[header_index + 1 :], records)
            rows = list(_text_rows(rest, column, first_number))
        except csv.Error as exc:
            # The csv module's messages are English and technical; the only one it raises with strict=False is this.
            raise ImportFileError(
                f"El CSV está mal formado cerca de la línea {records.line_num}: una celda pasa de "
                f"{_thousands(csv.field_size_limit())} caracteres (¿unas comillas sin cerrar?)."
            ) from exc
    except UnicodeDecodeError as exc:  # only a file that says it is UTF-16 is decoded strictly without a check first
        raise ImportFileError("El archivo dice ser UTF-16 pero no se puede leer como texto.") from exc
    return ParsedFile(kind="csv", column=header, rows=rows, encoding=encoding, delimiter=delimiter)


def _locate_header(records: list[list[Any]] | list[tuple[Any, ...]]) -> tuple[int, int, str]:
    for index, cells in enumerate(records):
        column = find_cedula_column(cells)
        if column is not None:
            return index, column, str(cells[column]).strip()
    raise ImportFileError(_missing_column_message(list(records[0]) if records else []))


def _text_rows(records: Iterable[list[str]], column: int, first_number: int) -> Iterator[SourceRow]:
    """The hot loop of a 100,000-row CSV: cells are already text."""
    limit = first_number + MAX_ROWS
    for number, cells in enumerate(records, start=first_number):
        # Blank lines count: 20 million of them cost the reader as much as 20 million cedulas.
        if number >= limit:
            raise ImportFileError(f"El archivo tiene más de {_thousands(MAX_ROWS)} filas: divídalo en partes.")
        value = cells[column] if column < len(cells) else ""
        if not value.strip() and not any(cell.strip() for cell in cells):
            continue  # a blank line is not a row
        yield SourceRow(number, value)


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")  # Colombian style: 1.000.000


# --- Classifying values ---------------------------------------------------------------------------------------------


def classify_rows(rows: Iterable[SourceRow]) -> Classified:
    valid: dict[str, int] = {}
    duplicates: list[DuplicateRow] = []
    invalid: list[InvalidRow] = []
    total = duplicate_count = invalid_count = 0
    for number, value in rows:
        total += 1
        raw = value.strip()
        # Fast path for the common case (plain digits); anything else gets normalize_cedula's full treatment.
        digits = raw.lstrip("0") if raw.isascii() and raw.isdigit() else ""
        if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
            try:
                digits = normalize_cedula(value)
            except ValueError as exc:
                invalid_count += 1
                if invalid_count <= ROWS_KEPT:
                    invalid.append(InvalidRow(number, value, str(exc)))
                continue
        first = valid.setdefault(digits, number)
        if first != number:
            duplicate_count += 1
            if duplicate_count <= ROWS_KEPT:
                duplicates.append(DuplicateRow(number, value, digits, first))
    return Classified(total, valid, duplicates, invalid, duplicate_count=duplicate_count, invalid_count=invalid_count)


def escape_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; everything else passes unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def rejected_rows_csv(invalid: Iterable[InvalidRow]) -> bytes:
    """The rows an import left out, as a CSV Excel opens correctly (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["fila", "valor", "motivo"])
    for row in invalid:
        writer.writerow([row.number, escape_formula(row.value), escape_formula(row.reason)])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
