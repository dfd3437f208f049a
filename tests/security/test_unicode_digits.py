"""One cedula, one row: digits typed in another script ("８１０００００２", "٨١٠٠٠٠٠٢") are the ASCII cedula
everywhere (registration, import, the console's search), and rows stored that way before are found and repaired."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from cedula.importing import classify_rows
from cedula.models import CedulaInfo
from cedula.normalize import mask_cedula, normalize_cedula
from cedula.services.digits import cedula_digits_repair
from ops.accounts.models import User

FULLWIDTH = "８１０００００２"
ARABIC_INDIC = "٨١٠٠٠٠٠٢"
DEVANAGARI = "८१०००००२"


@pytest.mark.parametrize("text", [FULLWIDTH, ARABIC_INDIC, DEVANAGARI, "CC ８１.０００.００２", "۸۱۰۰۰۰۰۲"])
def test_every_unicode_decimal_digit_becomes_ascii(text):
    assert normalize_cedula(text) == "81000002"


@pytest.mark.parametrize("text", ["81²00002", "８１０００００②", "8100000\u2082"])
def test_digit_like_signs_that_are_no_decimal_digits_are_refused_in_spanish(text):
    with pytest.raises(ValueError, match="no es una cédula"):
        normalize_cedula(text)


def test_a_masked_cedula_in_another_script_keeps_its_last_ascii_digits():
    assert mask_cedula(FULLWIDTH) == "***0002"


def test_an_import_reads_them_as_the_ascii_cedula_and_as_a_duplicate_of_it():
    result = classify_rows([(2, "81000002"), (3, FULLWIDTH), (4, ARABIC_INDIC)])

    assert list(result.valid) == ["81000002"]
    assert [d.cedula for d in result.duplicates] == ["81000002", "81000002"]


@pytest.mark.django_db
def test_registration_refuses_the_same_cedula_written_in_fullwidth_digits(client, user_factory):
    user_factory(email="ana@example.com", cedula="81000002")

    response = client.post(
        reverse("accounts:register"),
        {
            "email": "otra@example.com",
            "cedula": FULLWIDTH,
            "password1": "Clave-muy-larga-99",
            "password2": "Clave-muy-larga-99",
        },
    )

    assert "Ya existe una cuenta registrada con esta cédula." in response.content.decode()
    assert User.objects.count() == 1 and CedulaInfo.objects.count() == 1


@pytest.mark.django_db
def test_the_console_search_finds_the_row_from_fullwidth_digits(admin_client, cedula_factory):
    cedula_factory(cedula="81000002")

    exact = admin_client.get(reverse("admin:cedula_cedulainfo_changelist"), {"q": FULLWIDTH})
    prefix = admin_client.get(reverse("admin:cedula_cedulainfo_changelist"), {"q": "８１００*"})

    assert exact.status_code == 200 and exact.context["cl"].result_count == 1
    assert prefix.status_code == 200 and prefix.context["cl"].result_count == 1


@pytest.mark.django_db
def test_stored_non_ascii_rows_are_reported_then_normalised_unless_an_ascii_twin_exists(cedula_factory):
    lone = cedula_factory(cedula="٧٠٠٠٠٠١")  # 7000001 in Arabic-Indic, no ASCII twin
    cedula_factory(cedula="81000002")
    twin = cedula_factory(cedula=FULLWIDTH)

    dry = cedula_digits_repair(apply=False)
    assert {(f.pk, f.canonical, f.twin_pk is not None) for f in dry.found} == {
        (lone.pk, "7000001", False),
        (twin.pk, "81000002", True),
    }
    assert CedulaInfo.objects.filter(pk=lone.pk, cedula="٧٠٠٠٠٠١").exists()  # a dry run changes nothing

    out = StringIO()
    call_command("normalize_stored_cedulas", "--apply", stdout=out)
    payload = json.loads(out.getvalue())

    assert payload["found"] == 2 and payload["normalised"] == 1 and payload["twins"] == 1
    assert CedulaInfo.objects.get(pk=lone.pk).cedula == "7000001"
    assert CedulaInfo.objects.get(pk=twin.pk).cedula == FULLWIDTH  # reported, never merged silently
    assert CedulaInfo.objects.filter(cedula="81000002").count() == 1
