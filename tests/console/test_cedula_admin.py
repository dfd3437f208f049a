"""The cedula changelist and detail page: badges, filters, search, actions, row action, breaker switch."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cedula.admin.pagination import CappedCountPaginator
from cedula.models import Breaker, CedulaInfo, Status

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cedula_cedulainfo_changelist"


def _listed(response) -> set[str]:
    return {obj.cedula for obj in response.context["cl"].result_list}


def test_the_changelist_shows_status_badges_place_and_error_kind(admin_client, cedula_factory):
    cedula_factory(status=Status.ACTIVE, departamento="CAUCA", municipio="POPAYAN", check_count=3)
    cedula_factory(status=Status.ERROR, error_kind="blocked")

    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "Vigente" in html and "bg-green-100" in html
    assert "CAUCA" in html and "POPAYAN" in html
    assert "Bloqueado" in html


@pytest.mark.parametrize("typed", ["1.234.567", "1,234,567", " 1234567 ", "0001234567", "CC 1234567"])
def test_search_finds_a_cedula_typed_in_any_format(admin_client, cedula_factory, typed):
    cedula_factory(cedula="1234567")
    cedula_factory(cedula="12345670")
    cedula_factory(cedula="91234567")

    response = admin_client.get(reverse(CHANGELIST), {"q": typed})

    # The cedula itself comes first; a longer one that starts with the same digits follows (a partial number is a
    # search too: tests/console/test_search.py). "CC 1234567" names one cedula only.
    listed = [row.cedula for row in response.context["cl"].result_list]
    assert listed == (["1234567"] if typed.startswith("CC") else ["1234567", "12345670"])


def test_search_is_one_exact_match_never_a_like_scan(admin_client, cedula_factory):
    cedula_factory(cedula="1234567")

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(CHANGELIST), {"q": "1.234.567"})

    cedula_queries = [q["sql"] for q in queries if "cedula_cedulainfo" in q["sql"]]
    assert cedula_queries
    assert not any("LIKE" in sql.upper() for sql in cedula_queries)


def test_search_with_text_that_is_no_cedula_finds_nothing(admin_client, cedula_factory):
    cedula_factory(cedula="1234567")

    assert _listed(admin_client.get(reverse(CHANGELIST), {"q": "abc"})) == set()


def test_the_changelist_never_counts_the_whole_table(admin_client, cedula_factory):
    cedula_factory.create_batch(3)

    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse(CHANGELIST))

    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper() and "cedula_cedulainfo" in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts)


def test_past_the_count_cap_the_list_says_more_than(admin_client, cedula_factory, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 5)
    cedula_factory.create_batch(7)

    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "más de 5 cédulas" in html


def test_each_filter_narrows_the_list(admin_client, cedula_factory, batch_factory):
    batch = batch_factory()
    now = timezone.now()
    cedula_factory(cedula="1000001", status=Status.ERROR, error_kind="blocked")
    cedula_factory(cedula="1000002", source="registration")
    cedula_factory(cedula="1000003", import_batch=batch)
    cedula_factory(cedula="1000004", status=Status.ACTIVE, departamento="CAUCA", last_checked=now)
    month_ago = now - dt.timedelta(days=30)
    cedula_factory(cedula="1000005", status=Status.ACTIVE, departamento="META", last_checked=month_ago)
    week_ago = (now - dt.timedelta(days=7)).strftime("%Y-%m-%d")
    cases = {
        "status__exact=error": {"1000001"},
        "error_kind__exact=blocked": {"1000001"},
        "source__exact=registration": {"1000002"},
        f"import_batch__id__exact={batch.pk}": {"1000003"},
        "departamento=CAUCA": {"1000004"},
        f"last_checked_from_0={week_ago}&last_checked_from_1=00:00": {"1000004"},
    }
    for query, expected in cases.items():
        assert _listed(admin_client.get(f"{reverse(CHANGELIST)}?{query}")) == expected, query


def test_the_departamento_filter_offers_the_departamentos_present(admin_client, cedula_factory):
    cedula_factory(departamento="META")
    cedula_factory(departamento="CAUCA")
    cedula_factory(departamento="CAUCA")

    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert '<option value="CAUCA"' in html and '<option value="META"' in html


def _act(client, action: str, *rows: CedulaInfo):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [r.pk for r in rows], "index": 0}, follow=True
    )


def test_queue_lookup_now_queues_the_selected_rows(admin_client, cedula_factory):
    idle = cedula_factory(status=Status.ACTIVE)

    _act(admin_client, "queue_now", idle)

    idle.refresh_from_db()
    assert idle.next_attempt_at is not None


def test_retry_failed_queues_only_rows_in_error(admin_client, cedula_factory):
    failed = cedula_factory(status=Status.ERROR, error_kind="timeout")
    fine = cedula_factory(status=Status.ACTIVE)

    response = _act(admin_client, "retry_failed", failed, fine)

    failed.refresh_from_db()
    fine.refresh_from_db()
    assert failed.next_attempt_at is not None and fine.next_attempt_at is None
    assert "1 cédula con error vuelve a la cola" in response.content.decode()


def test_reset_to_pending_forgets_the_result_and_queues(admin_client, cedula_factory):
    row = cedula_factory(status=Status.ACTIVE, departamento="CAUCA")

    _act(admin_client, "reset_pending", row)

    row.refresh_from_db()
    assert (row.status, row.departamento) == (Status.PENDING, "")
    assert row.next_attempt_at is not None


def test_lookup_now_asks_first_and_queues_on_confirmation(admin_client, cedula_factory):
    row = cedula_factory(status=Status.ACTIVE)
    url = reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk])

    dialog = admin_client.get(url)
    row.refresh_from_db()
    assert dialog.status_code == 200 and row.next_attempt_at is None

    response = admin_client.post(url, {"_form_submitted": "on"}, HTTP_HX_REQUEST="true")
    row.refresh_from_db()
    assert response["HX-Redirect"] == reverse("admin:cedula_cedulainfo_change", args=[row.pk])
    assert row.next_attempt_at is not None


def test_the_row_and_detail_pages_offer_lookup_now(admin_client, cedula_factory):
    row = cedula_factory()
    url = reverse("admin:cedula_cedulainfo_lookup_now", args=[row.pk])

    assert url in admin_client.get(reverse(CHANGELIST)).content.decode()
    assert url in admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()


def test_the_detail_page_shows_the_attempt_history_and_the_redacted_snapshot(
    admin_client, cedula_factory, attempt_factory
):
    row = cedula_factory(status=Status.ERROR)
    attempt_factory(row, message="primer intento", started_at=timezone.now() - dt.timedelta(hours=2))
    attempt_factory(row, message="segundo intento", snapshot="<p>Rechazado ##########</p>")

    html = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[row.pk])).content.decode()

    assert "primer intento" in html and "segundo intento" in html
    assert "&lt;p&gt;Rechazado ##########&lt;/p&gt;" in html


def test_pause_and_resume_record_who_did_it(admin_client, admin_user):
    pause = reverse("admin:cedula_cedulainfo_pause_lookups")
    resume = reverse("admin:cedula_cedulainfo_resume_lookups")

    admin_client.post(pause, {"_form_submitted": "on", "reason": "ventana de mantenimiento"})
    breaker = Breaker.objects.get(pk=1)
    assert breaker.paused and breaker.paused_by == admin_user.email
    assert breaker.pause_reason == "ventana de mantenimiento"
    assert 'data-breaker-state="paused"' in admin_client.get(reverse(CHANGELIST)).content.decode()

    admin_client.post(resume, {"_form_submitted": "on"})
    assert not Breaker.objects.get(pk=1).paused


def test_cedulas_cannot_be_added_edited_or_deleted_by_hand(admin_client, cedula_factory):
    row = cedula_factory()

    assert admin_client.get(reverse("admin:cedula_cedulainfo_add")).status_code == 403
    assert admin_client.get(reverse("admin:cedula_cedulainfo_delete", args=[row.pk])).status_code == 403
    admin_client.post(reverse("admin:cedula_cedulainfo_change", args=[row.pk]), {"status": Status.ACTIVE})
    row.refresh_from_db()
    assert row.status == Status.PENDING
