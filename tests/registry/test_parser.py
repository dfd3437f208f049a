"""The parser on saved result pages and on mutations of them. Pure: no database, no browser."""

from __future__ import annotations

import datetime
import re
import unicodedata
from pathlib import Path

import pytest

from cedula.registry.parser import LookupResult, parse_result

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "html"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


ACTIVE_MEDELLIN = {
    "departamento": "ANTIOQUIA",
    "municipio": "MEDELLIN",
    "puesto": "I.E. INEM JOSE FELIX DE RESTREPO",
    "direccion": "CARRERA 48 # 1-125",
    "mesa": "013",
}


def fields(result: LookupResult, names: tuple[str, ...] = tuple(ACTIVE_MEDELLIN)) -> dict[str, object]:
    return {name: getattr(result, name) for name in names}


def test_it_reads_the_active_table():
    result = parse_result(fixture("active_table.html"))
    assert result.status == "active"
    assert result.error_kind is None
    assert fields(result) == ACTIVE_MEDELLIN


def test_it_keeps_mesa_as_the_page_writes_it():
    assert parse_result(fixture("active_table.html")).mesa == "013"


@pytest.mark.parametrize("name", ["active_labels.html", "active_labels_paragraphs.html"])
def test_it_reads_the_older_label_value_layout(name):
    result = parse_result(fixture(name))
    assert result.status == "active"
    assert result.municipio and result.puesto and result.direccion and result.mesa


def test_it_reads_label_rows_exactly():
    result = parse_result(fixture("active_labels.html"))
    assert fields(result) == {
        "departamento": "VALLE",
        "municipio": "CALI",
        "puesto": "UNIVERSIDAD DEL VALLE SEDE MELENDEZ",
        "direccion": "CALLE 13 # 100-00",
        "mesa": "007",
    }


def test_it_reads_label_paragraphs_exactly():
    result = parse_result(fixture("active_labels_paragraphs.html"))
    assert result.departamento == "BOGOTA D.C."
    assert result.municipio == "BOGOTA. D.C."
    assert result.direccion == "CARRERA 5 # 34-00"
    assert result.mesa == "021"


@pytest.mark.parametrize(
    ("name", "novedad", "resolucion", "fecha"),
    [
        ("cancelled_muerte.html", "Cancelada por Muerte", "0023", datetime.date(2019, 3, 15)),
        ("cancelled_doble_cedulacion.html", "Cancelada por Doble Cedulación", "0112", datetime.date(2008, 11, 4)),
        ("cancelled_falsa_identidad.html", "Cancelada por Falsa Identidad", "0007", datetime.date(2011, 2, 1)),
        (
            "vigente_perdida_derechos.html",
            "Vigente con Pérdida o Suspensión de los Derechos Políticos",
            "0245",
            datetime.date(2021, 6, 28),
        ),
    ],
)
def test_it_reads_each_cancellation_wording(name, novedad, resolucion, fecha):
    result = parse_result(fixture(name))
    assert result.status == "cancelled"
    assert (result.novedad, result.resolucion, result.fecha_novedad) == (novedad, resolucion, fecha)
    assert result.municipio is None


def test_it_reads_not_found():
    result = parse_result(fixture("not_found.html"))
    assert result == LookupResult(status="not_found", message=result.message)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("captcha.html", "captcha"),
        ("block_page.html", "blocked"),
        ("expired.html", "expired"),
        ("unexpected.html", "unexpected_page"),
        ("full_page_empty_form.html", "unexpected_page"),
    ],
)
def test_it_classifies_pages_that_are_not_answers(name, kind):
    result = parse_result(fixture(name))
    assert (result.status, result.error_kind) == ("error", kind)


def test_it_never_says_active_without_a_puesto():
    result = parse_result(fixture("active_missing_puesto.html"))
    assert (result.status, result.error_kind) == ("error", "unexpected_page")


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "{}", "<table><tr><td>x</td></tr></table>"])
def test_empty_or_unknown_input_is_an_unexpected_page(html):
    assert parse_result(html).error_kind == "unexpected_page"


def test_it_finds_the_answer_inside_a_whole_page():
    result = parse_result(fixture("full_page_active.html"))
    assert result.status == "active"
    assert fields(result) == ACTIVE_MEDELLIN


def test_messages_never_carry_the_cedula():
    for path in FIXTURES.glob("*.html"):
        message = parse_result(path.read_text(encoding="utf-8")).message
        assert not re.search(r"\d{5,}", message), (path.name, message)


# --- mutations: the page's wording, spacing, accents, quoting and column order change between versions ------------


def reorder_active_columns(html: str) -> str:
    """Reverse the cells of each row (headers and data alike)."""

    def reverse_row(match: re.Match[str]) -> str:
        cells = re.findall(r"<t[hd][^>]*>.*?</t[hd]>", match.group(1), flags=re.S)
        return "<tr>" + "".join(reversed(cells)) + "</tr>"

    return re.sub(r"<tr>(.*?)</tr>", reverse_row, html, flags=re.S)


MUTATIONS = {
    "reordered columns": reorder_active_columns,
    "extra whitespace": lambda html: re.sub(r">\s*", ">\n   \t ", html).replace("</", "  \n </"),
    "accents removed": strip_accents,
    "lower case labels": lambda html: re.sub(r"data-th='([^']+)'", lambda m: f"data-th='{m.group(1).lower()}'", html),
    "double-quoted attributes": lambda html: html.replace("'", '"'),
    "no data-th (headers only)": lambda html: re.sub(r"\sdata-th='[^']*'", "", html),
    "no headers (data-th only)": lambda html: re.sub(r"<thead>.*?</thead>", "", html, flags=re.S),
    "upper case tags": lambda html: re.sub(r"</?(table|tr|td|th|b|thead|tbody)\b", lambda m: m.group(0).upper(), html),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_active_table_survives(mutation):
    result = parse_result(MUTATIONS[mutation](fixture("active_table.html")))
    assert result.status == "active", result
    expected = dict(ACTIVE_MEDELLIN)
    assert fields(result) == expected


@pytest.mark.parametrize("mutation", list(MUTATIONS), ids=list(MUTATIONS))
def test_cancelled_table_survives(mutation):
    result = parse_result(MUTATIONS[mutation](fixture("cancelled_doble_cedulacion.html")))
    assert result.status == "cancelled"
    expected_novedad = "Cancelada por Doble Cedulacion" if mutation == "accents removed" else None
    assert result.novedad == (expected_novedad or "Cancelada por Doble Cedulación")
    assert result.resolucion == "0112"
    assert result.fecha_novedad == datetime.date(2008, 11, 4)


@pytest.mark.parametrize(
    "mutation",
    [strip_accents, str.upper, lambda html: html.replace("\n", " ").replace("  ", "\n\n")],
    ids=["accents removed", "upper case", "spacing"],
)
def test_label_layout_survives(mutation):
    result = parse_result(mutation(fixture("active_labels.html")))
    assert result.status == "active"
    assert result.mesa == "007"


@pytest.mark.parametrize(
    "mutation", [strip_accents, str.upper, str.lower], ids=["accents removed", "upper case", "lower case"]
)
@pytest.mark.parametrize("name", ["not_found.html", "captcha.html", "block_page.html"])
def test_messages_survive_case_and_accents(name, mutation):
    expected = parse_result(fixture(name))
    result = parse_result(mutation(fixture(name)))
    assert (result.status, result.error_kind) == (expected.status, expected.error_kind)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/2019", datetime.date(2019, 3, 15)),
        ("2019-03-15", datetime.date(2019, 3, 15)),
        ("5/3/2019", datetime.date(2019, 3, 5)),
        ("31/02/2019", None),
        ("sin fecha", None),
    ],
)
def test_fecha_novedad_is_a_date(text, expected):
    html = fixture("cancelled_muerte.html").replace("15/03/2019", text)
    assert parse_result(html).fecha_novedad == expected


def test_the_parser_imports_neither_django_nor_playwright():
    source = (Path(__file__).resolve().parents[2] / "cedula" / "registry" / "parser.py").read_text()
    assert not re.search(r"^\s*(from|import)\s+(django|playwright)", source, flags=re.M)
