"""Captcha spend on the console: the dashboard's card and the batch page's card, in Spanish, with the numbers."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cedula.models import CaptchaBalance, ImportBatch, LookupAttempt, Status

pytestmark = pytest.mark.django_db

BOGOTA = dt.timezone(dt.timedelta(hours=-5))
SIX_AM = dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA)


def text_of(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:div|dd)>', html, re.S)
    assert match, f"{testid} not on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


@pytest.fixture
def with_solver(settings):
    settings.CAPTCHA_SOLVER = "2captcha"
    settings.CAPTCHA_PRICE_PER_1000_USD = 2.99
    settings.CAPTCHA_RUNWAY_ALERT_DAYS = 3


def spent(cedula, *, solved: int, used: int, refused: int = 0, wasted: int = 0, at=None) -> None:
    LookupAttempt.objects.create(
        cedula=cedula,
        started_at=at or timezone.now(),
        outcome="active",
        captcha_solved=solved,
        captcha_used=used,
        captcha_refused=refused,
        captcha_wasted=wasted,
    )


def test_the_dashboard_shows_todays_and_this_months_spend_the_balance_and_the_runway(
    admin_client, cedula_factory, with_solver
):
    row = cedula_factory()
    with time_machine.travel(SIX_AM, tick=False):
        spent(row, solved=1000, used=990, refused=5, wasted=10)  # USD 2.99 today
        spent(row, solved=2000, used=2000, at=SIX_AM - dt.timedelta(days=1))  # yesterday, same month
        now = timezone.now()
        CaptchaBalance.objects.create(pk=1, solver="2captcha", balance_usd=25.5, read_at=now, checked_at=now)
        html = admin_client.get(reverse("admin:index")).content.decode()

    assert "Gasto en captchas" in html
    assert text_of(html, "spend-today") == "USD 2,99"
    assert text_of(html, "spend-month") == "USD 8,97"
    assert text_of(html, "spend-today-line") == (
        "Hoy: 1.000 resueltos (USD 2,99): 990 usados, 5 rechazados, 10 perdidos · 1,5 % rechazados o perdidos"
    )
    assert text_of(html, "spend-balance") == "Saldo del resolvedor: USD 25,50 (leído el 03/03 06:00)"
    # USD 2.99 in 6 hours is USD 11.96 a day: USD 25.50 lasts 2.13 days, under the 3-day alert.
    assert text_of(html, "spend-runway") == "Al ritmo de hoy (USD 11,96 al día) alcanza para 2 días."
    assert 'data-runway-low="1"' in html and "Saldo por agotarse" in html
    days = re.search(r'data-testid="spend-days".*?</details>', html, re.S).group(0)
    rows = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in re.findall(r"<tr.*?</tr>", days, re.S)]
    assert rows[:2] == ["03/03 1.000 resueltos USD 2,99", "02/03 2.000 resueltos USD 5,98"]
    assert len(rows) == 7
    assert text_of(html, "spend-price") == (
        "Precio: USD 2,99 por 1.000 captchas · Alerta a guardia si alcanza para menos de 3 días."
    )


def test_the_dashboard_says_when_nothing_was_spent_today(admin_client, with_solver):
    now = timezone.now()
    CaptchaBalance.objects.create(pk=1, solver="2captcha", balance_usd=3, read_at=now, checked_at=now)

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert text_of(html, "spend-runway") == "Hoy no se ha gastado nada: al ritmo de hoy el saldo no se agota."
    assert 'data-runway-low="0"' in html


def test_the_dashboard_shows_a_failed_balance_reading_in_words(admin_client, with_solver):
    CaptchaBalance.objects.create(
        pk=1, solver="2captcha", checked_at=timezone.now(), error_code="ERROR_KEY_DOES_NOT_EXIST", error="respondió"
    )

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "el resolvedor no reconoce la clave (CAPTCHA_API_KEY)" in text_of(html, "spend-balance")
    assert "Todavía no se ha podido leer el saldo" in text_of(html, "spend-runway")


def test_without_a_solver_the_dashboard_says_so(admin_client, settings):
    settings.CAPTCHA_SOLVER = "none"

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "Sin resolvedor de captcha" in html
    assert text_of(html, "spend-runway") == (
        "No hay resolvedor de captcha configurado: no se gasta nada y no hay saldo que leer."
    )
    assert text_of(html, "spend-today") == "USD 0,00"


def test_the_batch_page_shows_the_spend_so_far_and_to_finish(admin_client, cedula_factory, with_solver):
    batch = ImportBatch.objects.create(file_name="lote.csv", total_rows=5, new_rows=5)
    done = cedula_factory(import_batch=batch, status=Status.ACTIVE)
    for _ in range(4):
        cedula_factory(import_batch=batch, next_attempt_at=timezone.now())
    # 600 paid, 500 sent, 100 refused: 400 accepted -> 1.5 solves per answered row.
    spent(done, solved=600, used=500, refused=100, wasted=100)

    html = admin_client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()

    assert "Gasto en captchas del lote" in html
    assert text_of(html, "batch-spend-so-far") == "USD 1,79"  # 600 x 0.00299
    assert text_of(html, "batch-spend-to-finish") == "USD 0,02"  # 4 x 1.5 x 0.00299 = 0.018
    assert text_of(html, "batch-spend-line") == (
        "600 resueltos (USD 1,79): 500 usados, 100 rechazados, 100 perdidos · 33,3 % rechazados o perdidos"
    )
    assert text_of(html, "batch-spend-estimate") == (
        "4 cédulas por consultar × 1,50 captchas por cédula (según lo observado en este lote)"
    )


def test_the_batch_page_prices_a_large_batch_before_any_solve(admin_client, cedula_factory, with_solver):
    batch = ImportBatch.objects.create(file_name="grande.csv", total_rows=3, new_rows=3)
    for _ in range(3):
        cedula_factory(import_batch=batch, next_attempt_at=timezone.now())

    html = admin_client.get(reverse("admin:cedula_importbatch_change", args=[batch.pk])).content.decode()

    assert text_of(html, "batch-spend-so-far") == "USD 0,00"
    assert text_of(html, "batch-spend-estimate") == (
        "3 cédulas por consultar × 1 captcha por cédula (sin captchas observados todavía: un captcha por cédula)"
    )


def test_an_attempts_page_shows_its_captchas(admin_client, cedula_factory, with_solver):
    spent(cedula_factory(), solved=2, used=1, wasted=1)
    attempt = LookupAttempt.objects.get()

    html = admin_client.get(reverse("admin:cedula_lookupattempt_change", args=[attempt.pk])).content.decode()

    assert "2 resueltos (USD 0,01): 1 usado, 0 rechazados, 1 perdido" in html
