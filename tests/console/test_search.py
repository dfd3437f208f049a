"""Search as staff type it: part of a number, with or without separators, in the cedula list and in the sidebar."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cedula_cedulainfo_changelist"


@pytest.fixture
def people(cedula_factory):
    return {c: cedula_factory(cedula=c) for c in ["1162634974", "1162000001", "1163000000", "52116200", "765"]}


def _listed(client, term):
    response = client.get(reverse(CHANGELIST), {"q": term})
    assert response.status_code == 200
    return sorted(row.cedula for row in response.context["cl"].result_list)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1162", ["1162000001", "1162634974"]),
        ("1.162", ["1162000001", "1162634974"]),
        ("1.162.634", ["1162634974"]),
        ("1 162 634 974", ["1162634974"]),
        ("1162634974", ["1162634974"]),
        ("CC 1.162.634.974", ["1162634974"]),
        ("１１６２６３", ["1162634974"]),
        ("765", ["765"]),
        ("1162*", ["1162000001", "1162634974"]),
        ("11626349741", []),
        ("116263497412345", []),
        ("11", []),
        ("juan", []),
    ],
)
def test_a_partial_number_finds_the_cedulas_that_start_with_it(admin_client, people, typed, expected):
    assert _listed(admin_client, typed) == expected


def test_a_plain_partial_number_reads_one_index_range_never_a_like(admin_client, people):
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(CHANGELIST), {"q": "1.162"})

    sql = [q["sql"] for q in queries if "cedula_cedulainfo" in q["sql"] and "1162" in q["sql"]]
    assert sql and not any("LIKE" in s.upper() for s in sql)
    assert any(">= '1162'" in s and "< '1163'" in s for s in sql)


def test_the_search_box_says_a_partial_number_is_enough(admin_client):
    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "primeros dígitos" in html


def _sidebar(client, term, **extra):
    response = client.get(reverse("admin:search"), {"s": term, **extra})
    assert response.status_code == 200
    html = response.content.decode()
    return re.findall(r'href="([^"]+)"', html), html


def test_the_sidebar_search_finds_a_cedula_and_links_its_page(admin_client, people):
    links, html = _sidebar(admin_client, "1162634")

    assert links[0] == reverse("admin:cedula_cedulainfo_change", args=[people["1162634974"].pk])
    assert "Cédula 1.162.634.974" in html and "Sin consultar" in html


def test_the_sidebar_search_still_finds_menu_entries(admin_client, people):
    links, _ = _sidebar(admin_client, "cédulas")

    assert reverse(CHANGELIST) in links


def test_the_command_palette_finds_a_cedula_too(admin_client, people):
    links, html = _sidebar(admin_client, "1162", extended="1")

    pages = {reverse("admin:cedula_cedulainfo_change", args=[people[c].pk]) for c in ["1162634974", "1162000001"]}
    assert pages <= set(links)
    assert "1.163.000.000" not in html


def test_a_staff_account_without_the_cedula_role_finds_no_cedula(client, user_factory, people):
    client.force_login(user_factory(is_staff=True))  # staff, but no role: may open the admin, not the cedulas
    for extra in ({}, {"extended": "1"}):
        response = client.get(reverse("admin:search"), {"s": "1162634", **extra})

        assert response.status_code == 200 and "1.162.634.974" not in response.content.decode()


def test_the_sidebar_search_shows_at_most_a_handful(admin_client, cedula_factory):
    for n in range(30):
        cedula_factory(cedula=f"4444{n:04d}")

    links, _ = _sidebar(admin_client, "4444")

    assert len([link for link in links if "/cedulainfo/" in link]) == 8
