"""The change history in the console: the Cambios list, its filters and export, the dashboard card, the cedula's
page and the changelist filter."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from cedula.models import CedulaChange, Status

pytestmark = pytest.mark.django_db

CHANGES = "admin:cedula_cedulachange_changelist"


@pytest.fixture
def change_factory():
    def make(info, *, kind="place", days_ago=1.0, old=None, new=None, old_status="active", new_status="active"):
        return CedulaChange.objects.create(
            cedula=info,
            changed_at=timezone.now() - dt.timedelta(days=days_ago),
            import_batch_id=info.import_batch_id,
            kind=kind,
            old_status=old_status,
            new_status=new_status,
            old_values=old or {"mesa": "001"},
            new_values=new or {"mesa": "002"},
        )

    return make


def test_the_changes_list_shows_what_changed_from_what_to_what(admin_client, cedula_factory, change_factory):
    info = cedula_factory(status=Status.CANCELLED, cedula="25837220")
    change_factory(
        info,
        kind="status",
        old_status="active",
        new_status="cancelled",
        old={"status": "active", "puesto": "UNIVERSIDAD DE ANTIOQUIA", "novedad": ""},
        new={"status": "cancelled", "puesto": "", "novedad": "Cancelada por Muerte"},
    )

    html = admin_client.get(reverse(CHANGES)).content.decode()

    assert "25837220" in html
    assert "Estado" in html
    assert "estado:</span> Vigente → Cancelada" in html
    assert "puesto:</span> UNIVERSIDAD DE ANTIOQUIA → —" in html
    assert "novedad:</span> — → Cancelada por Muerte" in html


def test_the_changes_list_filters_by_kind_date_and_batch(admin_client, cedula_factory, batch_factory, change_factory):
    batch = batch_factory()
    in_batch = cedula_factory(import_batch=batch)
    other = cedula_factory()
    old_place = change_factory(in_batch, kind="place", days_ago=30)
    status = change_factory(other, kind="status", days_ago=1, old_status="active", new_status="not_found")
    cancellation = change_factory(in_batch, kind="cancellation", days_ago=2)
    url = reverse(CHANGES)
    since = timezone.localtime(timezone.now() - dt.timedelta(days=7))

    def ids(query: str) -> set[int]:
        html = admin_client.get(f"{url}?{query}").content.decode()
        return {int(pk) for pk in re.findall(r'href="/admin/cedula/cedulachange/(\d+)/change/', html)}

    assert ids("") == {old_place.pk, status.pk, cancellation.pk}
    assert ids("kind__exact=status") == {status.pk}
    assert ids(f"import_batch__id__exact={batch.pk}") == {old_place.pk, cancellation.pk}
    assert ids(f"changed_at_from_0={since:%Y-%m-%d}&changed_at_from_1=00:00") == {status.pk, cancellation.pk}


def test_the_changes_export_writes_one_line_per_change(admin_client, cedula_factory, change_factory):
    change_factory(cedula_factory(cedula="25837220"), new={"mesa": "031"}, old={"mesa": "030"})

    response = admin_client.post(reverse("admin:cedula_cedulachange_export"), {"format": "0", "export_items": []})
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        # import-export 4 asks which fields first: take them all.
        response = admin_client.post(
            reverse("admin:cedula_cedulachange_export"),
            {"format": "0", **{f"cedulachangeresource_{f}": "on" for f in (
                "id", "changed_at", "cedula", "kind", "old_status", "new_status", "changes", "batch", "attempt")}},
        )  # fmt: skip

    body = response.content.decode("utf-8-sig")
    assert response.status_code == 200, body[:500]
    assert "25837220" in body
    assert "mesa: 030 -> 031" in body


def test_the_dashboard_card_counts_the_last_7_days_by_kind(admin_client, cedula_factory, change_factory):
    info = cedula_factory()
    change_factory(info, kind="place", days_ago=1)
    change_factory(info, kind="place", days_ago=6.9)
    change_factory(info, kind="status", days_ago=3)
    change_factory(info, kind="cancellation", days_ago=8)

    html = admin_client.get(reverse("admin:index")).content.decode()

    def count(kind: str) -> str:
        match = re.search(rf'data-testid="changes-{kind}"[^>]*>([^<]*)<', html)
        assert match
        return match.group(1).strip()

    assert (count("place"), count("status"), count("cancellation")) == ("2", "1", "0")
    assert "3 cambios en 7 días" in html
    assert f"{reverse(CHANGES)}?kind__exact=place&amp;changed_at_from_0=" in html


def test_the_changelist_filter_shows_rows_that_changed_at_their_last_check(admin_client, cedula_factory):
    changed = cedula_factory(status=Status.ACTIVE, changed_at_last_check=True)
    cedula_factory(status=Status.ACTIVE)
    url = reverse("admin:cedula_cedulainfo_changelist")

    response = admin_client.get(f"{url}?changed_at_last_check=1")

    assert {obj.cedula for obj in response.context["cl"].result_list} == {changed.cedula}
    assert "cambió en la última consulta" in admin_client.get(url).content.decode()


def test_the_cedula_page_shows_its_change_history_newest_first(admin_client, cedula_factory, change_factory):
    info = cedula_factory(status=Status.ACTIVE)
    with time_machine.travel(timezone.now(), tick=False):
        change_factory(info, days_ago=10, old={"mesa": "001"}, new={"mesa": "002"})
        change_factory(info, days_ago=1, old={"mesa": "002"}, new={"mesa": "003"})

    html = admin_client.get(reverse("admin:cedula_cedulainfo_change", args=[info.pk])).content.decode()

    assert "historial de cambios" in html.lower()
    assert html.index("002 → 003") < html.index("001 → 002")
