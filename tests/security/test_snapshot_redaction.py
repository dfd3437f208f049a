"""A failure snapshot keeps the page's markup for debugging and nothing that names a person: numbers of five or more
digits however they are grouped, and names (runs of capitalised words), are masked."""

from __future__ import annotations

import pytest

from cedula.services.outcomes import redact_snapshot


def redact(html: str) -> str:
    return redact_snapshot(html, max_bytes=100_000)


@pytest.mark.parametrize("number", ["1.234.567", "1,234,567", "1 234 567", "1234567", "81.000.002", "1'234'567"])
def test_grouped_and_plain_numbers_are_masked(number):
    out = redact(f"<p>Documento {number} consultado</p>")

    assert not any(ch.isdigit() for ch in out.replace("<p>", "")), out
    assert out.startswith("<p>Documento ") and out.endswith(" consultado</p>")


@pytest.mark.parametrize("name", ["JUAN PEREZ", "María José Gómez", "ANA MARÍA DE LA TORRE"])
def test_names_in_the_text_are_masked(name):
    out = redact(f"<div id='success'>Documento 1.234.567 de {name}.</div>")

    for word in name.split():
        assert word not in out, out
    assert "<div id='success'>Documento " in out and " de " in out


def test_the_markup_and_ordinary_words_stay_readable():
    html = (
        "<table id='consulta'><td data-th='MESA'><b>013</b></td></table><p>El documento no se encuentra en el censo</p>"
    )

    assert redact(html) == html


def test_a_number_in_an_attribute_is_masked_too():
    assert "1234567" not in redact('<input id="nuip" value="1234567">')
