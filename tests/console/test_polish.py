"""Issue 18: what a staff member reads on each screen - one state per row, Spanish, Bogotá time, grouped cedulas."""

from __future__ import annotations

import datetime as dt
import re
import tempfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cedula import display
from cedula.models import Breaker, CedulaInfo, Status

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cedula_cedulainfo_changelist"


def _count(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>([^<]*)<', html)
    assert match, f"{testid} not on the page"
    return match.group(1).strip()


def _listed(response) -> list[str]:
    return [obj.cedula for obj in response.context["cl"].result_list]


# --- bugs seen on screen --------------------------------------------------------------------------------------------


def test_the_detail_page_shows_the_state_label_not_a_python_tuple(admin_client, cedula_factory):
    row = cedula_factory(status=Status.ERROR, error_kind="timeout")

    html = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()

    assert "(&#x27;error&#x27;" not in html and "('error'" not in html
    assert re.search(r">\s*Error\s*<", html)


def test_the_pause_dialogs_reason_input_is_drawn_with_unfolds_border(admin_client):
    html = admin_client.get(reverse("admin:cedula_cedulainfo_pause_lookups")).content.decode()

    reason = re.search(r"<input[^>]*name=\"reason\"[^>]*>", html)
    assert reason, "no reason input in the dialog"
    assert "border" in reason.group(0) and "bg-white" in reason.group(0)


def test_rows_waiting_for_a_retry_are_counted_as_retries_even_once_due(admin_client, cedula_factory):
    now = timezone.now()
    # One whose backoff already passed (the worker is paused, say) and one still waiting: both wait for a retry.
    cedula_factory(next_attempt_at=now - dt.timedelta(seconds=30), attempts=1, error_kind="timeout")
    cedula_factory(next_attempt_at=now + dt.timedelta(seconds=60), attempts=2, error_kind="blocked")
    cedula_factory(next_attempt_at=now)  # a fresh lookup, no retry

    html = admin_client.get(reverse("admin:index")).content.decode()

    retries = _count(html, "queue-retries")
    assert "2 esperan un reintento" in retries
    assert "3 en cola" in retries


def test_after_a_bulk_retry_the_rows_read_as_queued_on_the_cards_and_the_badges(admin_client, cedula_factory):
    rows = cedula_factory.create_batch(5, status=Status.ERROR, error_kind="timeout")

    admin_client.post(
        reverse(CHANGELIST),
        {"action": "retry_failed", "_selected_action": [r.pk for r in rows], "index": 0},
    )
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    listing = re.search(r'<table[^>]*id="result_list".*?</table>', html, re.S).group(0)

    assert _count(dashboard, "count-error") == "0"
    assert _count(dashboard, "count-queued") == "5"
    assert _count(dashboard, "queue-due") == "5"
    assert len(re.findall(r">\s*En cola\s*<", listing)) == 5
    assert not re.search(r">\s*Error\s*<", listing)


def test_the_cards_add_up_to_the_total(admin_client, cedula_factory):
    now = timezone.now()
    cedula_factory(status=Status.ACTIVE)
    cedula_factory(status=Status.ACTIVE, next_attempt_at=now)  # a re-validation in the queue
    cedula_factory(status=Status.ERROR)
    cedula_factory(status=Status.PENDING, claimed_at=now, claim_token="t")

    html = admin_client.get(reverse("admin:index")).content.decode()

    cards = [int(n) for n in re.findall(r'data-testid="count-(?!total)[a-z_]+"[^>]*>\s*([\d.]+)\s*<', html)]
    assert sum(cards) == int(_count(html, "count-total")) == 4
    assert _count(html, "count-queued") == "2"
    assert _count(html, "count-active") == "1"


def test_the_error_rate_headline_says_how_few_lookups_it_rests_on(
    admin_client, settings, cedula_factory, attempt_factory
):
    settings.ERROR_RATE_MIN_ATTEMPTS = 10
    info = cedula_factory()
    attempt_factory(info, outcome="active", started_at=timezone.now())
    attempt_factory(info, outcome="error", started_at=timezone.now())

    headline = re.sub(r"\s+", " ", _html_of(admin_client, "error-rate-headline"))

    assert "50,0 %" in headline
    assert "2 consultas" in headline
    assert "muy pocas" in headline


def _html_of(client, testid: str) -> str:
    html = client.get(reverse("admin:index")).content.decode()
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</div>', html, re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_a_batch_without_new_rows_does_not_read_100_percent_of_0(admin_client, batch_factory):
    batch_factory(file_name="repetidas.csv", total_rows=3, existing_rows=3)

    html = admin_client.get(reverse("admin:index")).content.decode()

    assert "0 de 0" not in html and "100 %" not in html
    assert "sin filas nuevas" in html


def _upload(client, tmp_path, text: str = "cedula\n1234567\n"):
    csv = tmp_path / "lote.csv"
    csv.write_text(text, encoding="utf-8")
    with csv.open("rb") as f:
        return client.post(reverse("admin:cedula_cedulainfo_import"), {"import_file": f})


def test_the_import_confirm_form_carries_a_random_key_never_the_servers_temp_path(admin_client, tmp_path):
    html = _upload(admin_client, tmp_path).content.decode()

    value = re.search(r'name="import_file_name"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="import_file_name"', html
    )
    assert value
    assert tempfile.gettempdir() not in value.group(1) and "/" not in value.group(1)

    response = admin_client.post(
        reverse("admin:cedula_cedulainfo_process_import"),
        {"import_file_name": value.group(1), "original_file_name": "lote.csv", "format": ""},
    )
    assert response.status_code == 302
    assert CedulaInfo.objects.filter(cedula="1234567").exists()


def test_a_forged_temp_file_name_is_never_read(admin_client, tmp_path):
    _upload(admin_client, tmp_path)
    forged = tempfile.NamedTemporaryFile(delete=False, suffix=".json")  # noqa: SIM115
    forged.write(b'{"rows": [[2, "7777777"]], "kind": "csv"}')
    forged.close()

    response = admin_client.post(
        reverse("admin:cedula_cedulainfo_process_import"),
        {"import_file_name": forged.name, "original_file_name": "x.csv", "format": ""},
        follow=True,
    )

    assert not CedulaInfo.objects.filter(cedula="7777777").exists()
    assert "ya no está disponible" in response.content.decode()


# --- one state, everywhere ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"status": Status.ERROR}, "error"),
        ({"status": Status.ERROR, "next_attempt_at": timezone.now()}, "queued"),
        ({"status": Status.ACTIVE, "next_attempt_at": timezone.now(), "attempts": 1}, "retry"),
        ({"status": Status.PENDING, "claimed_at": timezone.now()}, "in_flight"),
        ({"status": Status.PENDING}, "pending"),
        ({"status": Status.ACTIVE}, "active"),
    ],
)
def test_row_state_puts_the_queue_before_the_last_answer(fields, key):
    row = CedulaInfo(cedula="1234567", **fields)

    assert display.row_state(row).key == key


def test_only_the_switch_that_applies_is_offered(admin_client):
    running = admin_client.get(reverse(CHANGELIST)).content.decode()
    Breaker.objects.update_or_create(pk=1, defaults={"paused": True})
    paused = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "Pausar consultas" in running and "Reanudar consultas" not in running
    assert "Reanudar consultas" in paused and "Pausar consultas" not in paused


def test_lookup_now_from_the_list_returns_to_the_list(admin_client, cedula_factory):
    row = cedula_factory(status=Status.ACTIVE)
    listing = "http://testserver" + reverse(CHANGELIST) + "?status__exact=active&p=2"

    response = admin_client.post(
        reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk]),
        {"_form_submitted": "on"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=listing,
    )

    assert response["HX-Redirect"] == listing


# --- cedulas as people write them, searched as digits ---------------------------------------------------------------


def test_cedulas_are_shown_grouped_in_the_list_and_the_detail(admin_client, cedula_factory, attempt_factory):
    row = cedula_factory(cedula="1098765432")
    attempt_factory(row)

    listing = admin_client.get(reverse(CHANGELIST)).content.decode()
    detail = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()
    attempts = admin_client.get(reverse("admin:cedula_lookupattempt_changelist")).content.decode()

    for html in (listing, detail, attempts):
        assert "1.098.765.432" in html


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("7654*", ["7654", "76540", "7654321"]), ("7.654…", ["7654", "76540", "7654321"]), ("76543...", ["7654321"])],
)
def test_a_prefix_search_finds_every_cedula_starting_with_the_digits(admin_client, cedula_factory, typed, expected):
    for cedula in ["7654", "76540", "7654321", "7655", "17654", "765"]:
        cedula_factory(cedula=cedula)

    response = admin_client.get(reverse(CHANGELIST), {"q": typed})

    assert _listed(response) == expected


def test_a_prefix_search_is_a_range_on_the_unique_index_never_a_like(admin_client, cedula_factory):
    cedula_factory(cedula="7654321")

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(CHANGELIST), {"q": "7654*"})

    sql = [q["sql"] for q in queries if "cedula_cedulainfo" in q["sql"] and "7654" in q["sql"]]
    assert sql and not any("LIKE" in s.upper() for s in sql)
    assert any(">= '7654'" in s and "< '7655'" in s for s in sql)
    query = "SELECT id FROM cedula_cedulainfo WHERE cedula >= '7654' AND cedula < '7655' ORDER BY cedula LIMIT 50"
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {query}")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "USING" in plan and "INDEX" in plan and "TEMP B-TREE" not in plan
        else:
            # A one-row table is cheaper to scan: ask whether the index can serve the range in order at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {query}")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "Index" in plan and "cedula_cedulainfo_cedula" in plan and "Sort" not in plan, plan


def test_a_prefix_of_fewer_than_4_digits_finds_nothing(admin_client, cedula_factory):
    cedula_factory(cedula="7654321")

    assert _listed(admin_client.get(reverse(CHANGELIST), {"q": "765*"})) == []


def test_the_attempts_list_searches_by_cedula(admin_client, cedula_factory, attempt_factory):
    mine, other = cedula_factory(cedula="52123456"), cedula_factory(cedula="1234567")
    attempt_factory(mine)
    attempt_factory(other)

    response = admin_client.get(reverse("admin:cedula_lookupattempt_changelist"), {"q": "52.123.456"})

    assert [a.cedula.cedula for a in response.context["cl"].result_list] == ["52123456"]


# --- filters you can read and remove --------------------------------------------------------------------------------


def test_each_active_filter_shows_as_a_chip_that_removes_only_itself(admin_client, batch_factory):
    batch = batch_factory(file_name="padron-sur.csv")

    html = admin_client.get(
        reverse(CHANGELIST), {"status__exact": "error", "import_batch__id__exact": batch.pk}
    ).content.decode()

    chips = re.findall(r'data-testid="filter-chip".*?href="([^"]*)"', html, re.S)
    assert "estado:" in html and "Error" in html
    assert "importación:" in html and "padron-sur.csv" in html
    assert len(chips) == 2
    assert any("status__exact" not in c and "import_batch" in c for c in chips)
    assert any("status__exact=error" in c and "import_batch" not in c for c in chips)


# --- Bogotá time, one format ----------------------------------------------------------------------------------------


def test_the_attempt_history_and_the_snapshot_are_in_bogota_time(admin_client, cedula_factory, attempt_factory):
    row = cedula_factory(status=Status.ERROR)
    # 21:49:02 UTC is 16:49:02 in Bogotá.
    attempt_factory(row, started_at=dt.datetime(2026, 12, 1, 21, 49, 2, tzinfo=dt.UTC), snapshot="<p>***4567</p>")

    html = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()

    assert "01/12/2026 16:49:02" in html
    assert "21:49" not in html
    assert "+00:00" not in html
    assert "Ver la captura completa" in html


def test_a_batch_title_is_in_bogota_time(batch_factory):
    batch = batch_factory(file_name="lote.csv")
    CedulaInfo.objects.none()
    batch.created_at = dt.datetime(2026, 12, 1, 3, 0, 0, tzinfo=dt.UTC)

    assert str(batch) == "lote.csv (30/11/2026 22:00:00)"


def test_import_cedulas_says_in_spanish_that_a_file_does_not_exist(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError) as raised:
        call_command("import_cedulas", str(tmp_path / "no-esta.csv"))

    assert "el archivo no existe" in str(raised.value)
    assert "No such file" not in str(raised.value)
