"""The sources behind one interface (cedula.registry.sources): each source's answer reader is pure and yields the same
LookupResult, checked on saved answers; REGISTRY_SOURCES is parsed strictly."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from cedula.registry.failures import Cause
from cedula.registry.parser import parse_result
from cedula.registry.sources import CONSULTACENSO, SOURCES, WSP, parse_sources, source_named
from cedula.registry.sources.consultacenso_answer import parse_consulta

SAVED = Path(__file__).resolve().parent.parent / "fixtures"


def saved(name: str) -> str:
    return (SAVED / "consultacenso" / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "active_lower.json",
            {
                "status": "active",
                "departamento": "BOGOTA D.C.",
                "municipio": "BOGOTA. D.C.",
                "puesto": "COLEGIO SANTA LIBRADA",  # whitespace collapsed, as the census page's parser does
                "direccion": "CALLE 76 SUR # 14-05",
                "mesa": "013",  # text as sent: the zero stays
            },
        ),
        (
            "active_upper.json",
            {"status": "active", "departamento": "ANTIOQUIA", "municipio": "MEDELLIN", "mesa": "004"},
        ),
        ("active_mixed_case.json", {"status": "active", "municipio": "CALI", "mesa": "21"}),
        (
            "cancelled_muerte.json",
            {
                "status": "cancelled",
                "novedad": "Cancelada por Muerte",
                "resolucion": "0012",
                "fecha_novedad": dt.date(2026, 5, 2),
                "departamento": None,
            },
        ),
        (
            "cancelled_upper_fields.json",
            {
                "status": "cancelled",
                "novedad": "Cancelada por Doble Cedulación",
                "resolucion": "0023",
                "fecha_novedad": dt.date(2025, 11, 30),
            },
        ),
        # A novedad is never "not found" (public scrapers file it so): it is cancelled, with its text.
        (
            "not_enabled.json",
            {"status": "cancelled", "novedad": "Vigente con Pérdida o Suspensión de los Derechos Políticos"},
        ),
        ("not_found.json", {"status": "not_found", "error_kind": None}),
        ("captcha_refused.json", {"status": "error", "error_kind": "captcha"}),
        ("session_expired.json", {"status": "error", "error_kind": "expired"}),
        ("refused_other.json", {"status": "error", "error_kind": "unexpected_page"}),
        ("unknown_shape.json", {"status": "error", "error_kind": "unexpected_page"}),
        ("found_without_place.json", {"status": "error", "error_kind": "unexpected_page"}),
    ],
)
def test_consultacenso_saved_answers(name, expected):
    read = CONSULTACENSO.read(saved(name))
    for field, value in expected.items():
        assert getattr(read.result, field) == value, field
    assert read.shown == saved(name)  # the JSON itself is what the snapshot keeps
    assert read.corroborate is False  # no rendering of this API's answer is known


def test_consultacenso_reads_keys_in_any_case_at_every_level():
    lower = json.loads(saved("active_lower.json"))

    def upper(value):
        if isinstance(value, dict):
            return {key.upper(): upper(item) for key, item in value.items()}
        return value

    assert parse_consulta(upper(lower)) == parse_consulta(lower)


def test_html_where_json_belongs_is_blocked_on_both_sources():
    block = (SAVED / "html" / "block_page.html").read_text(encoding="utf-8")
    for source in SOURCES.values():
        result = source.read(block).result
        assert (result.error_kind, result.cause) == ("blocked", Cause.BLOCKED), source.name
        unknown_html = source.read("<html><body><h1>Mantenimiento</h1></body></html>").result
        assert (unknown_html.error_kind, unknown_html.cause) == ("blocked", Cause.BLOCKED), source.name


def test_wsp_reads_the_message_and_asks_to_corroborate_it():
    html = (SAVED / "html" / "active_table.html").read_text(encoding="utf-8")
    read = WSP.read(json.dumps({"success": True, "data": {"message": html}}))
    assert read.result == parse_result(html)
    assert (read.shown, read.corroborate) == (html, True)
    assert WSP.read(json.dumps({"success": False, "reload": True, "data": {"message": "x"}})).result.error_kind == (
        "expired"
    )
    assert WSP.read(json.dumps([1, 2])).result.error_kind == "unexpected_page"
    assert WSP.read(json.dumps({"success": True, "data": {}})).result.error_kind == "unexpected_page"


def test_the_same_person_reads_the_same_on_both_sources():
    """One answer, two shapes: the census page's HTML and consultacenso's JSON agree field by field."""
    html = (
        "<table id='consulta'><tr><th>NUIP</th><th>DEPARTAMENTO</th><th>MUNICIPIO</th><th>PUESTO</th>"
        "<th>DIRECCIÓN</th><th>MESA</th></tr><tr><td data-th='NUIP'>71234567</td>"
        "<td data-th='DEPARTAMENTO'>ANTIOQUIA</td><td data-th='MUNICIPIO'>MEDELLIN</td>"
        "<td data-th='PUESTO'>I.E. INEM JOSE FELIX DE RESTREPO</td><td data-th='DIRECCIÓN'>CARRERA 48 # 1-125</td>"
        "<td data-th='MESA'><b>004</b></td></tr></table>"
    )
    wsp = WSP.read(json.dumps({"success": True, "data": {"message": html}})).result
    assert wsp == CONSULTACENSO.read(saved("active_upper.json")).result


def test_each_source_names_its_elements_and_their_fallbacks():
    for source in SOURCES.values():
        roles = [source.number, source.choice, source.submit, *([source.area] if source.area else [])]
        assert set(roles) == set(source.selectors), source.name
        for element, ways in source.selectors.items():
            assert len(ways) >= 2, f"{source.name}.{element} has no fallback"
            assert ways[0][0] == "id", f"{source.name}.{element}: the id comes first"


@pytest.mark.parametrize(
    ("page", "request_url", "matches"),
    [
        (
            "https://consultacenso.registraduria.gov.co/",
            "https://consultacenso.registraduria.gov.co/back/api/consulta",
            True,
        ),
        ("http://127.0.0.1:8001/consultacenso/", "http://127.0.0.1:8001/consultacenso/back/api/consulta", True),
        ("http://127.0.0.1:8001/consultacenso/", "http://127.0.0.1:8001/consultacenso/back/api/elecciones", False),
        ("http://127.0.0.1:8001/consultacenso/", "http://127.0.0.1:8001/consultacenso/", False),
    ],
)
def test_the_answer_request_is_recognised_under_any_prefix(page, request_url, matches):
    assert CONSULTACENSO.answers_at(page, request_url) is matches
    assert WSP.answers_at("http://h/censo/consultar/", "http://h/censo/consultar") is True


def test_registry_sources_setting_is_parsed_strictly():
    assert parse_sources("wsp") == ("wsp",)
    assert parse_sources(" WSP , consultacenso ") == ("wsp", "consultacenso")
    assert parse_sources("consultacenso,wsp") == ("consultacenso", "wsp")
    for bad in ("", " , ", "wsp,otra", "wsp,wsp"):
        with pytest.raises(ValueError, match="REGISTRY_SOURCES"):
            parse_sources(bad)
    assert source_named("") is WSP
