"""Captcha spend: per attempt from the lookup's report, per Bogotá day, per batch, the price math, the balance read
against the stand-in's solver, the runway and its alert (received by a real local Sentry), and /metrics."""

from __future__ import annotations

import datetime as dt
import math

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule
from prometheus_client.parser import text_string_to_metric_families

from cedula import captcha_spend, tasks
from cedula.admin import presenters
from cedula.captcha_spend import Spend, runway
from cedula.models import AlertState, CaptchaBalance, CedulaInfo, ImportBatch, LookupAttempt
from cedula.registry.parser import CaptchaSpend, LookupReport
from tests.helpers.observability import report

pytestmark = pytest.mark.django_db

BOGOTA = dt.timezone(dt.timedelta(hours=-5))
TOKEN = "spend-scrape-token"


def paid(solved: int, used: int | None = None, refused: int = 0, wasted: int = 0, status: str = "active"):
    """A report whose lookup accounts for these solves."""
    base = report(status) if status != "error" else report("error", "captcha")
    spend = CaptchaSpend(solved=solved, used=solved if used is None else used, refused=refused, wasted=wasted)
    return LookupReport(result=base.result, html=base.html, duration_ms=base.duration_ms, captcha=spend)


@pytest.fixture
def solver(settings, registry_site_factory):
    """A private captcha stand-in (its solver answers getbalance 10.0) wired in as the configured solver."""
    site = registry_site_factory(min_gap_s=0.0, captcha=True)
    settings.CAPTCHA_SOLVER = "2captcha"
    settings.CAPTCHA_API_URL = site.base_url
    settings.CAPTCHA_API_KEY = site.solver_key
    return site


def alert_events(events: list[dict]) -> list[dict]:
    return [e for e in events if e.get("tags", {}).get("alert") == "captcha_runway"]


# --- per attempt, per day, per batch --------------------------------------------------------------------------------


def test_an_attempt_keeps_the_solves_its_report_accounts_for(lookups):
    lookups([paid(2, used=1, wasted=1), report("active"), paid(1, used=1, refused=1, status="error")])

    rows = list(
        LookupAttempt.objects.order_by("id").values_list(
            "captcha_solved", "captcha_used", "captcha_refused", "captcha_wasted"
        )
    )
    assert rows == [(2, 1, 0, 1), (0, 0, 0, 0), (1, 1, 1, 0)]


def test_spend_is_counted_per_bogota_day_not_per_utc_day(lookups, settings):
    settings.CAPTCHA_PRICE_PER_1000_USD = 3.0
    # 23:30 in Bogotá is already 04:30 the next day in UTC: it still belongs to the 2nd.
    with time_machine.travel(dt.datetime(2026, 3, 2, 23, 30, tzinfo=BOGOTA), tick=False):
        lookups([paid(3)])
    with time_machine.travel(dt.datetime(2026, 3, 3, 0, 30, tzinfo=BOGOTA), tick=False):
        lookups([paid(2), paid(1, used=0, wasted=1)])
        now = timezone.now()
        today = captcha_spend.spend_today(now=now)
        days = captcha_spend.spend_by_day(days=3, now=now)

    assert (today.solved, today.used, today.wasted) == (3, 2, 1)
    assert today.cost_usd == pytest.approx(0.009)
    assert [(d.day.isoformat(), d.spend.solved) for d in days] == [
        ("2026-03-01", 0),
        ("2026-03-02", 3),
        ("2026-03-03", 3),
    ]


def test_a_batch_counts_its_rows_attempts_since_it_was_imported(lookups, cedula_factory):
    lookups([paid(5)])  # someone else's lookup
    row = CedulaInfo.objects.get()
    LookupAttempt.objects.update(started_at=timezone.now() - dt.timedelta(hours=1))  # before the batch existed
    batch = ImportBatch.objects.create(file_name="lote.csv")
    row.import_batch = batch
    row.save()
    for n in (2, 1):
        other = cedula_factory(import_batch=batch)
        LookupAttempt.objects.create(
            cedula=other, started_at=timezone.now(), outcome="active", captcha_solved=n, captcha_used=1
        )

    spend = captcha_spend.batch_spend(batch_id=batch.pk)

    assert (spend.solved, spend.used) == (3, 2)


def test_the_cost_to_finish_a_batch_is_rows_left_times_price_times_the_observed_loss(settings, cedula_factory):
    settings.CAPTCHA_SOLVER = "2captcha"
    settings.CAPTCHA_PRICE_PER_1000_USD = 2.0
    batch = ImportBatch.objects.create(file_name="lote.csv")
    row = cedula_factory(import_batch=batch)
    # 12 paid, 10 sent, 2 of them refused: 8 accepted -> 1.5 solves per answered row.
    LookupAttempt.objects.create(
        cedula=row,
        started_at=timezone.now(),
        outcome="active",
        captcha_solved=12,
        captcha_used=10,
        captcha_refused=2,
        captcha_wasted=2,
    )

    estimate = captcha_spend.batch_spend_estimate(batch_id=batch.pk, rows_left=400)

    assert estimate.basis == "batch"
    assert estimate.solves_per_row == pytest.approx(1.5)
    assert estimate.so_far.cost_usd == pytest.approx(0.024)
    assert estimate.so_far.loss_rate == pytest.approx(4 / 12)
    assert estimate.to_finish_usd == pytest.approx(400 * 1.5 * 0.002)


def test_a_batch_without_solves_yet_is_priced_at_one_captcha_per_row(settings):
    settings.CAPTCHA_SOLVER = "2captcha"
    batch = ImportBatch.objects.create(file_name="lote.csv")

    estimate = captcha_spend.batch_spend_estimate(batch_id=batch.pk, rows_left=1000)

    assert (estimate.basis, estimate.solves_per_row) == ("price", 1.0)
    assert estimate.to_finish_usd == pytest.approx(2.99)


def test_without_a_solver_finishing_a_batch_costs_nothing(settings, db):
    settings.CAPTCHA_SOLVER = "none"
    batch = ImportBatch.objects.create(file_name="lote.csv")

    assert captcha_spend.batch_spend_estimate(batch_id=batch.pk, rows_left=1000).to_finish_usd == 0


# --- price and runway ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spend", "cost", "loss", "per_accepted"),
    [
        (Spend(solved=1000, used=1000, price_per_solve_usd=0.00299), 2.99, 0.0, 1.0),
        (Spend(solved=10, used=8, refused=1, wasted=2, price_per_solve_usd=0.001), 0.01, 0.3, 10 / 7),
        (Spend(price_per_solve_usd=0.001), 0.0, None, None),
    ],
)
def test_spend_figures(spend, cost, loss, per_accepted):
    assert spend.cost_usd == pytest.approx(cost)
    assert spend.loss_rate == (None if loss is None else pytest.approx(loss))
    assert spend.solves_per_accepted == (None if per_accepted is None else pytest.approx(per_accepted))


def test_the_runway_is_the_balance_over_todays_rate():
    six_am = dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA)
    # USD 1 in the first 6 hours of the day is USD 4 a day: USD 10 lasts 2.5 days.
    result = runway(balance_usd=10.0, spent_today_usd=1.0, now=six_am)
    assert result.reason == "rate"
    assert result.rate_per_day_usd == pytest.approx(4.0)
    assert result.days == pytest.approx(2.5)


def test_a_solve_just_after_midnight_is_not_taken_for_a_whole_day_of_them():
    ten_past = dt.datetime(2026, 3, 3, 0, 10, tzinfo=BOGOTA)
    result = runway(balance_usd=10.0, spent_today_usd=0.01, now=ten_past)
    assert result.rate_per_day_usd == pytest.approx(0.24)  # over one hour, not over ten minutes


@pytest.mark.parametrize(
    ("balance", "spent", "solver", "reason", "days"),
    [
        (None, 1.0, True, "unread", None),
        (0.0, 0.0, True, "empty", 0.0),
        (5.0, 0.0, True, "no_spend", None),
        (5.0, 1.0, False, "no_solver", None),
    ],
)
def test_the_runway_says_why_it_has_no_figure(balance, spent, solver, reason, days):
    result = runway(balance_usd=balance, spent_today_usd=spent, now=timezone.now(), solver=solver)
    assert (result.reason, result.days) == (reason, days)


# --- the balance schedule against the stand-in's solver ------------------------------------------------------------


def test_the_schedule_reads_the_balance_from_the_solver_api(solver, db):
    assert tasks.read_captcha_balance() == "read"

    row = CaptchaBalance.objects.get(pk=1)
    assert (row.solver, row.balance_usd, row.error_code) == ("2captcha", 10.0, "")
    assert row.read_at is not None
    calls = [r for r in solver.requests if r["path"] == "/res.php"]
    assert calls, "the balance must come from the solver's res.php"
    assert not [r for r in solver.requests if r["path"] == "/in.php"], "reading the balance solves nothing"


def test_without_a_solver_the_schedule_reads_nothing_and_says_so(settings, db, sentry_capture):
    settings.CAPTCHA_SOLVER = "none"

    assert tasks.read_captcha_balance() == "no_solver"

    row = CaptchaBalance.objects.get(pk=1)
    assert (row.solver, row.balance_usd) == ("", None)
    assert AlertState.objects.get(pk="captcha_runway").firing is False
    assert alert_events(sentry_capture.events()) == []
    [panel_row] = [r for r in presenters.alert_panel() if r.key == "captcha_runway"]
    assert panel_row.now == "unknown"
    assert panel_row.summary.startswith("No hay resolvedor de captcha configurado")


def test_a_refused_key_keeps_the_last_good_balance_and_changes_no_alert(solver, db, sentry_capture):
    tasks.read_captcha_balance()
    solver.set_solver_error("ERROR_KEY_DOES_NOT_EXIST")

    assert tasks.read_captcha_balance() == "ERROR_KEY_DOES_NOT_EXIST"

    row = CaptchaBalance.objects.get(pk=1)
    assert (row.balance_usd, row.error_code) == (10.0, "ERROR_KEY_DOES_NOT_EXIST")
    assert alert_events(sentry_capture.events()) == []


def test_an_empty_balance_alerts_once_and_the_recharge_recovers(solver, db, sentry_capture):
    with time_machine.travel(dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA), tick=False) as clock:
        tasks.read_captcha_balance()
        solver.set_solver_error("ERROR_ZERO_BALANCE")  # getbalance now answers 0
        tasks.read_captcha_balance()
        clock.shift(dt.timedelta(minutes=15))
        tasks.read_captcha_balance()  # still empty: no second page
        events = alert_events(sentry_capture.events())
        assert [(e["tags"]["alert_state"], e["message"]) for e in events] == [
            ("firing", "captcha solver balance is empty")
        ]
        assert events[0]["contexts"]["alert"]["reason"] == "empty"

        sentry_capture.clear()
        solver.set_solver_error(None)  # recharged: 10.0, nothing spent today
        clock.shift(dt.timedelta(minutes=15))
        tasks.read_captcha_balance()

    events = alert_events(sentry_capture.events())
    assert [(e["tags"]["alert_state"], e["level"]) for e in events] == [("recovered", "info")]
    assert AlertState.objects.get(pk="captcha_runway").firing is False


def test_a_short_runway_at_todays_rate_alerts_on_crossing_and_on_recovery(solver, lookups, sentry_capture, settings):
    settings.CAPTCHA_RUNWAY_ALERT_DAYS = 3
    with time_machine.travel(dt.datetime(2026, 3, 3, 6, 0, tzinfo=BOGOTA), tick=False) as clock:
        tasks.read_captcha_balance()  # USD 10, nothing spent: no alert
        lookups([paid(500)])  # USD 1.495 spent
        clock.shift(dt.timedelta(minutes=15))
        tasks.read_captcha_balance()  # in 6 h 15 min: USD 5.74 a day -> USD 10 lasts 1.74 days
        clock.shift(dt.timedelta(minutes=15))
        tasks.read_captcha_balance()
        events = alert_events(sentry_capture.events())
        assert [(e["tags"]["alert_state"], e["level"]) for e in events] == [("firing", "error")]
        assert events[0]["message"] == "captcha solver balance lasts 1.74 days at today's rate"
        assert events[0]["contexts"]["alert"]["threshold_days"] == 3
        [panel_row] = [r for r in presenters.alert_panel() if r.key == "captcha_runway"]
        assert (panel_row.now, panel_row.told_firing, panel_row.label) == ("firing", True, "Saldo de captchas")
        # Read now (15 min after the check): the rate has eased a little, the runway is still 1 day.
        assert panel_row.summary.startswith("Al ritmo de hoy (USD 5,")
        assert panel_row.summary.endswith("alcanza para 1 día. Alerta a guardia si alcanza para menos de 3 días.")

        sentry_capture.clear()
        settings.CAPTCHA_RUNWAY_ALERT_DAYS = 1  # the operator accepts a shorter runway
        clock.shift(dt.timedelta(minutes=15))
        tasks.read_captcha_balance()

    assert [e["tags"]["alert_state"] for e in alert_events(sentry_capture.events())] == ["recovered"]


def test_setup_schedules_declares_the_balance_read_once(db):
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # noqa: SIM115

    schedules = Schedule.objects.filter(name="captcha-balance")
    assert [(s.func, s.minutes) for s in schedules] == [("cedula.tasks.read_captcha_balance", 15)]


# --- /metrics -------------------------------------------------------------------------------------------------------


def _scrape(client) -> dict[str, list]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(response.content.decode())}


def _value(samples: list, **labels: str) -> float:
    [sample] = [s for s in samples if s.labels == labels]
    return sample.value


def test_metrics_export_the_spend_the_balance_and_the_runway(client, settings, solver, lookups):
    settings.METRICS_TOKEN = TOKEN
    settings.CAPTCHA_PRICE_PER_1000_USD = 2.0
    with time_machine.travel(dt.datetime(2026, 3, 3, 12, 0, tzinfo=BOGOTA), tick=False):
        lookups([paid(3, used=2, wasted=1), paid(1, used=1, refused=1, status="error")])
        tasks.read_captcha_balance()
        families = _scrape(client)

    solves = families["cedula_captcha_solves_today"]
    assert {k: _value(solves, kind=k) for k in ("solved", "used", "refused", "wasted")} == {
        "solved": 4,
        "used": 3,
        "refused": 1,
        "wasted": 1,
    }
    assert _value(families["cedula_captcha_spend_today_usd"]) == pytest.approx(0.008)
    assert _value(families["cedula_captcha_spend_month_usd"]) == pytest.approx(0.008)
    assert _value(families["cedula_captcha_price_per_1000_usd"]) == 2.0
    assert _value(families["cedula_captcha_balance_usd"]) == 10.0
    # USD 0.008 in 12 hours is USD 0.016 a day: USD 10 lasts 625 days.
    assert _value(families["cedula_captcha_runway_days"]) == pytest.approx(625)
    assert _value(families["cedula_captcha_runway_low"]) == 0
    assert _value(families["cedula_alert_firing"], alert="captcha_runway", check="captcha_runway") == 0


def test_metrics_without_a_solver_or_a_reading_are_nan_not_zero(client, settings, db):
    settings.METRICS_TOKEN = TOKEN
    settings.CAPTCHA_SOLVER = "none"

    families = _scrape(client)

    assert math.isnan(_value(families["cedula_captcha_balance_usd"]))
    assert math.isnan(_value(families["cedula_captcha_runway_days"]))
    assert _value(families["cedula_captcha_spend_today_usd"]) == 0


def test_a_closed_day_is_summed_once_and_the_month_adds_the_days(lookups, django_assert_num_queries):
    with time_machine.travel(dt.datetime(2026, 3, 1, 10, 0, tzinfo=BOGOTA), tick=False):
        lookups([paid(4)])
    with time_machine.travel(dt.datetime(2026, 3, 3, 10, 0, tzinfo=BOGOTA), tick=False):
        lookups([paid(1, used=0, wasted=1)])
        now = timezone.now()
        with django_assert_num_queries(3):  # 1 and 2 March summed, today summed
            month = captcha_spend.spend_this_month(now=now)
        with django_assert_num_queries(1):  # only today again
            again = captcha_spend.spend_this_month(now=now)

    assert (month.solved, month.used, month.wasted) == (5, 4, 1)
    assert again == month
