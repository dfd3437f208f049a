"""With DEBUG off, a missing page and a server error answer in Spanish, in the site's look, without a stack trace;
every response carries the Content-Security-Policy (strict on the public site, Unfold's needs on the console)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


def test_a_missing_page_is_a_spanish_404_in_the_sites_look(client):
    response = client.get("/no-existe/")

    text = response.content.decode()
    assert response.status_code == 404
    assert "No encontramos esta página" in text and 'lang="es"' in text and "accounts/public" in text
    assert "Not Found" not in text and "The requested resource" not in text


def test_a_missing_console_object_is_the_same_spanish_404(admin_client):
    response = admin_client.get("/admin/no-existe/")

    assert response.status_code == 404 and "No encontramos esta página" in response.content.decode()


@pytest.mark.urls("tests.security.urls_boom")
def test_a_server_error_is_a_spanish_500_without_a_trace():
    response = Client(raise_request_exception=False).get("/boom/")

    text = response.content.decode()
    assert response.status_code == 500
    assert "Algo falló de nuestro lado" in text and 'lang="es"' in text
    assert "Server Error" not in text and "Traceback" not in text and "a bug of ours" not in text


def test_the_public_site_gets_a_strict_policy_and_the_console_unfolds_needs(client, admin_client):
    public = client.get("/ingresar/")["Content-Security-Policy"]
    console = admin_client.get("/admin/")["Content-Security-Policy"]

    assert "script-src 'self';" in public and "style-src 'self'" in public and "unsafe" not in public
    assert "frame-ancestors 'none'" in public and "object-src 'none'" in public
    assert "'unsafe-eval'" in console and "'unsafe-inline'" not in console.split("script-src")[1].split(";")[0]
