"""python manage.py import_cedulas FILE [--requeue-existing] [--skip-invalid] [--user EMAIL]"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from cedula.models import CedulaInfo, ImportBatch, Status
from tests.helpers.imports import csv_bytes, xlsx_bytes

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("import_cedulas", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def test_it_imports_a_file_and_prints_only_the_counts(tmp_path):
    path = tmp_path / "junio.csv"
    path.write_bytes(csv_bytes([["cedula"], ["1234567"], ["1.234.567"], ["7654321"]], delimiter=";"))

    counts, _ = run(str(path))

    assert counts == {
        "file": "junio.csv",
        "total_rows": 3,
        "new": 2,
        "existing": 0,
        "requeued": 0,
        "duplicates": 1,
        "invalid": 0,
        "imported": True,
        "blocked": False,
        "batch_id": ImportBatch.objects.get().pk,
    }
    assert CedulaInfo.objects.count() == 2


def test_invalid_rows_block_the_file_with_exit_1_and_a_row_report(tmp_path):
    path = tmp_path / "malo.csv"
    path.write_bytes(csv_bytes([["cedula"], ["1234567"], ["12"], ["1.23457E+09"]]))
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("import_cedulas", str(path), stdout=out, stderr=err)

    assert raised.value.returncode == 1
    assert json.loads(out.getvalue())["blocked"] is True
    assert "fila 3: «12» es demasiado corta" in err.getvalue()
    assert "fila 4: «1.23457E+09» parece notación científica" in err.getvalue()
    assert not CedulaInfo.objects.exists()
    assert not ImportBatch.objects.exists()


def test_skip_invalid_and_requeue_existing(tmp_path, cedula_factory):
    known = cedula_factory(cedula="1111111", status=Status.ACTIVE, next_attempt_at=None)
    path = tmp_path / "libro.xlsx"
    path.write_bytes(xlsx_bytes({"Hoja": [["Documento"], [1111111], [7654321], ["x"]]}))

    counts, err = run(str(path), "--skip-invalid", "--requeue-existing")

    assert (counts["new"], counts["existing"], counts["requeued"], counts["invalid"]) == (1, 1, 1, 1)
    assert "fila 4" in err
    known.refresh_from_db()
    assert known.next_attempt_at is not None


def test_the_batch_records_the_staff_member_named_with_user(tmp_path, user_factory):
    staff = user_factory(email="operadora@example.com", is_staff=True)
    path = tmp_path / "lote.csv"
    path.write_bytes(csv_bytes([["cedula"], ["1234567"]]))

    counts, _ = run(str(path), "--user", "OPERADORA@example.com")

    assert ImportBatch.objects.get(pk=counts["batch_id"]).created_by == staff


@pytest.mark.parametrize("email", ["nadie@example.com", "ana@example.com"], ids=["unknown", "not-staff"])
def test_user_must_be_an_active_staff_member(tmp_path, user_factory, email):
    user_factory(email="ana@example.com", is_staff=False)
    path = tmp_path / "lote.csv"
    path.write_bytes(csv_bytes([["cedula"], ["1234567"]]))

    with pytest.raises(CommandError, match="no es un usuario activo del personal") as raised:
        call_command("import_cedulas", str(path), "--user", email, stdout=StringIO(), stderr=StringIO())

    assert raised.value.returncode == 2
    assert not ImportBatch.objects.exists() and not CedulaInfo.objects.exists()


@pytest.mark.parametrize(
    "content", [None, b"", b"nombre\nAna\n", bytes(range(256)) * 4], ids=["missing", "empty", "no-column", "binary"]
)
def test_an_unusable_file_is_a_usage_error_with_exit_2(tmp_path, content):
    path = tmp_path / "f.csv"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(CommandError) as raised:
        call_command("import_cedulas", str(path), stdout=StringIO(), stderr=StringIO())

    assert raised.value.returncode == 2
    assert not ImportBatch.objects.exists()


# Transactional: the subprocess writes (the import's audit record, even for a blocked file) while this test runs.
@pytest.mark.django_db(transaction=True)
def test_the_real_command_keeps_stdout_to_the_json_counts_and_exits_with_its_codes(tmp_path):
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        url = f"sqlite:///{Path(db['NAME']).resolve()}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"cedula\n1234567\nabc\n")
    env = {"DATABASE_URL": url, "OPS_IGNORE_DOTENV": "1", "DEBUG": "1", "LOG_LEVEL": "INFO"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "import_cedulas", *args],
            cwd=settings.BASE_DIR,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    blocked = manage(str(bad))
    usage = manage()

    assert blocked.returncode == 1
    assert json.loads(blocked.stdout)["invalid"] == 1
    assert "fila 3" in blocked.stderr
    assert usage.returncode == 2
    assert usage.stdout == ""
