"""The registry's answer HTML -> LookupResult. Pure: no Django, no Playwright.

Accepts the fragment rendered into #success, a whole page that contains it, or a block page. The page's wording,
spacing, accents, case, attribute quoting and column order change between versions, so everything is matched by
label (data-th attributes, header text, "Label:" rows) after folding accents and case. A page we do not recognise is
error/unexpected_page, never a silent success.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass(frozen=True)
class LookupResult:
    status: str  # "active" | "cancelled" | "not_found" | "error"
    error_kind: str | None = None
    message: str = ""  # short reason for staff and logs: never the full cedula
    departamento: str | None = None
    municipio: str | None = None
    puesto: str | None = None
    direccion: str | None = None
    mesa: str | None = None
    novedad: str | None = None
    resolucion: str | None = None
    fecha_novedad: datetime.date | None = None
    # Set (a cedula.registry.failures.Cause value) when the failure is the system's, not the row's: see failures.py.
    cause: str = ""


# The eight fields a final answer carries, in the order staff read them. CedulaInfo stores them under the same names
# (text fields blank as "", fecha_novedad as None); everything that lists them (recording, reset, the detail page,
# the export, `lookup_cedula --json`) uses this tuple.
RESULT_FIELDS = ("departamento", "municipio", "puesto", "direccion", "mesa", "novedad", "resolucion", "fecha_novedad")


@dataclass(frozen=True)
class CaptchaSpend:
    """Captcha solves a lookup accounts for: solved (paid for), used (sent with a POST), refused (the page rejected
    it), wasted (expired or dropped unused). A pipeline that solves ahead attributes its waste to the next lookup."""

    solved: int = 0
    used: int = 0
    refused: int = 0
    wasted: int = 0


@dataclass(frozen=True)
class LookupReport:
    """One lookup as the client ran it: what it concluded, the answer it saw, how long it took. Pure data, so the
    processes that only record or reap outcomes never import the browser."""

    result: LookupResult
    html: str  # the answer HTML the parser saw ("" when there was none)
    duration_ms: int
    # Elements of the page found by a fallback way, as "element:way" (e.g. "enviar:text"): the page is drifting.
    selector_fallbacks: tuple[str, ...] = ()
    captcha: CaptchaSpend = CaptchaSpend()
    wait_ms: int = 0  # of duration_ms, the wait for the throttle's request slot (the politeness gap, not the lookup)
    source: str = ""  # the registry's page that answered (cedula.registry.sources; "" when none was asked)


def fold(text: str) -> str:
    """Accents and case folded, whitespace collapsed: the form labels and phrases are compared in."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _clean(text: str) -> str:
    return " ".join(text.split())


# Folded label (trailing colon removed) -> field. NUIP and unknown labels are ignored.
_LABELS: dict[str, str] = {
    "departamento": "departamento",
    "depto": "departamento",
    "municipio": "municipio",
    "ciudad": "municipio",
    "puesto": "puesto",
    "puesto de votacion": "puesto",
    "lugar de votacion": "puesto",
    "direccion": "direccion",
    "direccion puesto": "direccion",
    "direccion del puesto": "direccion",
    "mesa": "mesa",
    "mesa de votacion": "mesa",
    "novedad": "novedad",
    "resolucion": "resolucion",
    "fecha novedad": "fecha_novedad",
    "fecha de novedad": "fecha_novedad",
    "fecha de la novedad": "fecha_novedad",
    "nuip": "nuip",
    "cedula": "nuip",
    "documento": "nuip",
}
_ACTIVE_FIELDS = ("departamento", "municipio", "puesto", "direccion", "mesa")
_CANCELLED_FIELDS = ("novedad", "resolucion", "fecha_novedad")

_BLOCK_PHRASES = ("the requested url was rejected", "your support id is", "request rejected")
_NOT_FOUND_PHRASES = ("no se encuentra en el censo", "no se encuentra registrad")
_CAPTCHA_PHRASES = (
    "marque el cuadro de verificacion",
    "captcha no es valido",
    "captcha invalido",
    "verifique el captcha",
)
_EXPIRED_PHRASES = (
    "sesion ha expirado",
    "sesion expiro",
    "sesion vencida",
    "token invalido",
    "token expirado",
    "recargue la pagina",
)

# Tags that end a text chunk: "<b>Departamento:</b> ANTIOQUIA" must give a label chunk and a value chunk.
_CHUNK_BREAKS = frozenset(
    "p div br hr tr td th li h1 h2 h3 h4 h5 h6 table section label span b strong dt dd title body ul ol thead tbody"
    " form option select".split()
)


@dataclass
class _Cell:
    header: bool
    data_th: str | None
    text: str = ""


@dataclass
class _Table:
    rows: list[list[_Cell]] = field(default_factory=list)


class _Collector(HTMLParser):
    """One pass: text chunks in document order (tag boundaries split them) and every table's cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.tables: list[_Table] = []
        self._buf: list[str] = []
        self._skip = 0  # inside <script>/<style>
        self._stack: list[_Table] = []
        self._cell: _Cell | None = None

    def _flush(self) -> None:
        text = _clean("".join(self._buf))
        self._buf = []
        if text:
            self.chunks.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template", "noscript"):
            self._skip += 1
            return
        if tag in _CHUNK_BREAKS:
            self._flush()
        if tag == "table":
            table = _Table()
            self.tables.append(table)
            self._stack.append(table)
        elif tag == "tr" and self._stack:
            self._stack[-1].rows.append([])
        elif tag in ("td", "th") and self._stack:
            table = self._stack[-1]
            if not table.rows:
                table.rows.append([])
            self._cell = _Cell(header=tag == "th", data_th=dict(attrs).get("data-th"))
            table.rows[-1].append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template", "noscript"):
            self._skip = max(0, self._skip - 1)
            return
        if tag in _CHUNK_BREAKS:
            self._flush()
        if tag in ("td", "th"):
            self._cell = None
        elif tag == "table" and self._stack:
            self._stack.pop()
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._buf.append(data)
        if self._cell is not None:
            self._cell.text += data

    def close(self) -> None:
        super().close()
        self._flush()


def _label_field(text: str) -> str | None:
    return _LABELS.get(fold(text).rstrip(":").strip())


def _fields_from_tables(tables: list[_Table]) -> dict[str, str]:
    found: dict[str, str] = {}
    for table in tables:
        headers: list[str | None] = []
        for row in table.rows:
            if row and all(cell.header for cell in row):
                headers = [_label_field(cell.text) for cell in row]
                continue
            for index, cell in enumerate(row):
                name = None
                if cell.data_th:
                    name = _label_field(cell.data_th)
                elif index < len(headers):
                    name = headers[index]
                value = _clean(cell.text)
                if name and name != "nuip" and value and name not in found:
                    found[name] = value
            # Label/value rows in a table: <tr><td>Departamento:</td><td>ANTIOQUIA</td></tr>.
            if len(row) >= 2 and not any(cell.data_th for cell in row):
                name = _label_field(row[0].text)
                value = _clean(row[1].text)
                if name and name != "nuip" and value and name not in found and _label_field(value) is None:
                    found[name] = value
    return found


_INLINE_LABEL = re.compile(r"^([^:]{3,40}):\s*(.+)$")


def _fields_from_chunks(chunks: list[str]) -> dict[str, str]:
    """Older layout: "Departamento:" followed by its value, in the same chunk or the next one."""
    found: dict[str, str] = {}
    for index, chunk in enumerate(chunks):
        name = _label_field(chunk)
        value = ""
        if name and index + 1 < len(chunks):
            value = chunks[index + 1]
            if _label_field(value) is not None:
                value = ""
        elif name is None:
            match = _INLINE_LABEL.match(chunk)
            if match:
                name = _label_field(match.group(1))
                value = match.group(2)
        if name and name != "nuip" and value and name not in found:
            found[name] = _clean(value)
    return found


_DATE_DMY = re.compile(r"\b(\d{1,2})[/-](\d{1,2})[/-](\d{4})\b")
_DATE_YMD = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")


def parse_date(text: str | None) -> datetime.date | None:
    if not text:
        return None
    try:
        if match := _DATE_YMD.search(text):
            return datetime.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if match := _DATE_DMY.search(text):
            return datetime.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None
    return None


def _error(kind: str, message: str) -> LookupResult:
    return LookupResult(status="error", error_kind=kind, message=message)


def parse_result(html: str) -> LookupResult:
    collector = _Collector()
    collector.feed(html or "")
    collector.close()
    text = fold(" ".join(collector.chunks))

    if any(phrase in text for phrase in _BLOCK_PHRASES):
        return _error("blocked", "Página de bloqueo del registro (URL rechazada).")

    # Chunk scanning would pair a table's last header with its first value: only when the tables gave nothing.
    found = _fields_from_tables(collector.tables) or _fields_from_chunks(collector.chunks)

    if found.get("novedad"):
        return LookupResult(
            status="cancelled",
            message="Documento con novedad.",
            novedad=found["novedad"],
            resolucion=found.get("resolucion"),
            fecha_novedad=parse_date(found.get("fecha_novedad")),
        )
    if found.get("municipio") and found.get("puesto"):
        return LookupResult(
            status="active",
            message="Lugar de votación encontrado.",
            departamento=found.get("departamento"),
            municipio=found.get("municipio"),
            puesto=found.get("puesto"),
            direccion=found.get("direccion"),
            mesa=found.get("mesa"),
        )
    if any(phrase in text for phrase in _NOT_FOUND_PHRASES):
        return LookupResult(status="not_found", message="El documento no se encuentra en el censo.")
    if any(phrase in text for phrase in _CAPTCHA_PHRASES):
        return _error("captcha", "El registro pidió resolver el captcha.")
    if any(phrase in text for phrase in _EXPIRED_PHRASES):
        return _error("expired", "La sesión o el token del formulario venció.")
    if any(name in found for name in _ACTIVE_FIELDS):
        return _error("unexpected_page", "Resultado incompleto: falta municipio o puesto.")
    return _error("unexpected_page", "Respuesta no reconocida.")


# --- corroboration helpers (the browser compares the JSON's answer with what the page rendered) --------------------

_COMPARED = ("status", "error_kind", *_ACTIVE_FIELDS, *_CANCELLED_FIELDS)


def answer_text(html: str) -> str:
    """The folded visible text of an HTML fragment (scripts and styles left out)."""
    collector = _Collector()
    collector.feed(html or "")
    collector.close()
    return fold(" ".join(collector.chunks))


def is_recognisable(result: LookupResult) -> bool:
    """An answer a person could read: anything but unexpected_page (a placeholder, spinner or skeleton is not)."""
    return not (result.status == "error" and result.error_kind == "unexpected_page")


def same_answer(a: LookupResult, b: LookupResult) -> bool:
    """Same outcome and same fields (messages are ours, not the page's, and are not compared)."""
    return all(getattr(a, name) == getattr(b, name) for name in _COMPARED)


def describe(result: LookupResult) -> str:
    """A short label of an answer for notes and logs, e.g. "active" or "error/blocked"."""
    return result.status if result.status != "error" else f"error/{result.error_kind}"
