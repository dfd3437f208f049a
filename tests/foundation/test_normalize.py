from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cedula.normalize import mask_cedula, normalize_cedula, scrub_text


@pytest.mark.parametrize(
    "text",
    [
        "1.234.567",
        "1,234,567",
        " 1234567 ",
        "CC 1234567",
        "C.C. 1.234.567",
        "0001234567",
        "cédula: 1234567",
        "1 234 567",
    ],
)
def test_it_accepts_the_formats_people_type(text):
    assert normalize_cedula(text) == "1234567"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "vacía"),
        ("   ", "vacía"),
        ("12", "corta"),
        ("000012", "corta"),
        ("12345678901", "larga"),
        ("12a4567", "solo se admiten dígitos"),
        ("-1234567", "signo"),
        ("+1234567", "signo"),
        ("1.23457E+09", "notación científica"),
        ("1.2345.67", "solo se admiten dígitos"),
        ("12 34", "solo se admiten dígitos"),
    ],
)
def test_it_refuses_what_is_not_a_cedula_with_a_reason_staff_understand(text, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_cedula(text)


@given(st.integers(min_value=100, max_value=9_999_999_999))
def test_any_valid_number_survives_every_format(number):
    digits = str(number)
    grouped = f"{number:,}"
    for text in (digits, grouped, grouped.replace(",", "."), f"  {digits} ", f"CC {digits}", digits.zfill(10)):
        assert normalize_cedula(text) == digits


@given(st.text(alphabet=st.characters(blacklist_categories=("Nd",)), min_size=1).filter(lambda t: t.strip()))
def test_text_without_digits_is_always_refused(text):
    with pytest.raises(ValueError):
        normalize_cedula(text)


@given(st.integers(min_value=10_000_000_000, max_value=10**15))
def test_numbers_over_ten_digits_are_refused(number):
    with pytest.raises(ValueError, match="larga"):
        normalize_cedula(str(number))


@given(st.from_regex(r"\A[0-9]{3,10}\Z"))
def test_the_canonical_form_is_a_fixed_point(text):
    try:
        canonical = normalize_cedula(text)
    except ValueError:
        assert len(text.lstrip("0")) < 3
        return
    assert normalize_cedula(canonical) == canonical
    assert canonical.isdigit() and not canonical.startswith("0")


def test_the_mask_keeps_only_the_last_four_digits():
    assert mask_cedula("1234567890") == "***7890"
    assert "123456" not in mask_cedula("1234567890")


def test_scrubbing_masks_cedulas_inside_text_but_not_other_numbers():
    text = "consulta 1234567890 y 1.234.567 fallo; pid 4242 en 2026-11-28T12:00:00.123456Z id a1234567b"
    scrubbed = scrub_text(text)
    assert "1234567890" not in scrubbed and "1.234.567" not in scrubbed
    assert "***7890" in scrubbed and "***4567" in scrubbed
    assert "pid 4242" in scrubbed and "12:00:00.123456Z" in scrubbed and "a1234567b" in scrubbed
