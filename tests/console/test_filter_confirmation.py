"""A whole-filter action's confirmation names exactly what it acts on: every filter of the panel, alone and combined,
and the search; its count is the rows the list shows under the same filter."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cedula.models import CedulaInfo, Status

pytestmark = pytest.mark.django_db

ACTIONS = ["queue_now", "retry_failed", "reset_pending", "cancel_pending"]


@pytest.fixture
def operator(client, staff_in):
    client.force_login(staff_in("Operadores"))
    return client


@pytest.fixture
def panel(cedula_factory, batch_factory):
    """Rows that each filter tells apart: one per status, two departamentos, a batch, a changed row, dates."""
    batch = batch_factory(file_name="censo-norte.csv")
    now = timezone.now()
    cedula_factory(cedula="11620001", status=Status.ERROR, error_kind="timeout", import_batch=batch,
                   last_checked=now - timedelta(days=3))  # fmt: skip
    cedula_factory(cedula="11620002", status=Status.ACTIVE, departamento="ANTIOQUIA", source="import",
                   import_batch=batch, last_checked=now - timedelta(days=40), changed_at_last_check=True)  # fmt: skip
    cedula_factory(cedula="52000003", status=Status.ACTIVE, departamento="BOYACA", last_checked=now)
    cedula_factory(cedula="52000004", status=Status.PENDING, next_attempt_at=now)
    cedula_factory(cedula="52000005", status=Status.NOT_FOUND, last_checked=now - timedelta(days=1))
    return batch


def _filters(panel):
    """(query parameters, words the confirmation must show, rows the filter matches) for every filter of the panel."""
    day = (timezone.localdate() - timedelta(days=10)).isoformat()
    return {
        "cola": ({"cola": "si"}, ["Cola", "en cola o en consulta"], 1),
        "cola-no": ({"cola": "no"}, ["Cola", "fuera de la cola"], 4),
        "status": ({"status__exact": "error"}, ["Estado", "Error"], 1),
        "error_kind": ({"error_kind__exact": "timeout"}, ["Tipo de error", "Tiempo agotado"], 1),
        "source": ({"source__exact": "import"}, ["Origen", "Importación"], 1),
        "batch": ({"import_batch__id__exact": str(panel.pk)}, ["censo-norte.csv"], 2),
        "departamento": ({"departamento": "BOYACA"}, ["Departamento", "BOYACA"], 1),
        "desde": ({"last_checked_from_0": day}, ["desde " + day], 3),
        "hasta": ({"last_checked_to_0": day}, ["hasta " + day], 1),
        "changed": ({"changed_at_last_check": "1"}, ["Cambió en la última consulta", "Sí"], 1),
        "search": ({"q": "52000003"}, ["Búsqueda", "52000003"], 1),
    }


def _confirmation(client, name, params):
    url = reverse("admin:cedula_cedulainfo_filter_action", args=[name])
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    listed = re.findall(r'data-testid="confirm-filter">(.*?)</li>', html, re.S)
    words = [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in listed]
    count = int(re.search(r'data-testid="confirm-count">([\d.,]+)<', html).group(1).replace(".", "").replace(",", ""))
    return html, words, count


def _listed(client, params):
    """The rows the changelist shows under the same parameters (what the operator saw before pressing the button)."""
    html = client.get(reverse("admin:cedula_cedulainfo_changelist"), params).content.decode()
    return len(set(re.findall(r'name="_selected_action" value="(\d+)"', html)))


FILTER_KEYS = "cola cola-no status error_kind source batch departamento desde hasta changed search".split()


@pytest.mark.parametrize("key", FILTER_KEYS)
def test_each_filter_alone_is_named_and_counted(operator, panel, key):
    params, words, matches = _filters(panel)[key]

    html, listed, _ = _confirmation(operator, "cancel_pending", params)

    assert "Sin filtros" not in html and "ninguno" not in html
    assert len(listed) == 1, listed
    for word in words:
        assert word.lower() in listed[0].lower(), (word, listed)
    # Whatever the action changes, it reads the rows the list shows.
    assert _listed(operator, params) == matches
    assert CedulaInfo.objects.count() == 5


@pytest.mark.parametrize("name", ACTIONS)
def test_filters_combined_are_all_named_and_the_count_is_the_lists(operator, panel, name):
    params = {"import_batch__id__exact": str(panel.pk), "status__exact": "error", "q": "1162*"}

    html, listed, count = _confirmation(operator, name, params)

    assert len(listed) == 3, listed
    joined = " | ".join(listed)
    for word in ("censo-norte.csv", "Error", "1162*"):
        assert word in joined
    touched = {"queue_now": 1, "retry_failed": 1, "reset_pending": 1, "cancel_pending": 0}[name]
    assert count == touched
    assert ("Se modificará <strong" in html) == (count == 1)


def test_no_filter_says_all_cedulas_and_pluralizes(operator, panel):
    html, listed, count = _confirmation(operator, "reset_pending", {})

    assert listed == [] and 'data-testid="confirm-no-filter"' in html
    assert count == 5 and "Se modificarán <strong" in html and "5</strong> cédulas." in html


def test_the_walk_covers_every_filter_of_the_panel():
    """A filter added to the panel without a case above fails here: the walk stays complete."""
    from cedula.admin.cedula_info import CedulaInfoAdmin

    covered = {key for params, _, _ in _filters(type("B", (), {"pk": 1})()).values() for key in params}
    for spec in CedulaInfoAdmin.list_filter:
        name = spec[0] if isinstance(spec, tuple) else spec.parameter_name
        assert any(key == name or key.startswith(name + "_") for key in covered), name
