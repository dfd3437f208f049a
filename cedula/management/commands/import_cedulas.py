"""python manage.py import_cedulas FILE [--requeue-existing] [--skip-invalid] [--user EMAIL]

The same service as the console's import. stdout carries only the counts (one JSON object); the row report and logs
go to stderr. `--user` records the staff member the batch is for, as the console's import does. Exit 0 imported, 1
invalid rows blocked the file (nothing changed), 2 usage error (missing or unreadable file, no cedula column, unknown
or non-staff user).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cedula import services
from cedula.importing import ImportFileError, InvalidRow, clean_file_name, read_table

ROW_REPORT_LIMIT = 1000
# The operating system's reasons come in English ("No such file or directory"): the usual ones, said in Spanish.
OS_REASONS = {
    errno.ENOENT: "el archivo no existe",
    errno.EACCES: "no hay permiso para leerlo",
    errno.EPERM: "no hay permiso para leerlo",
    errno.EISDIR: "es una carpeta, no un archivo",
}


class Command(BaseCommand):
    help = "Importa un archivo CSV o XLSX de cédulas y las pone en cola (prioridad masiva)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV (coma o punto y coma) o XLSX con una columna «cédula»")
        parser.add_argument(
            "--requeue-existing", action="store_true", help="vuelve a poner en cola las cédulas ya conocidas"
        )
        parser.add_argument(
            "--skip-invalid", action="store_true", help="importa las filas válidas aunque haya inválidas"
        )
        parser.add_argument("--user", metavar="EMAIL", help="correo del miembro del personal que hace la importación")

    def handle(
        self, *args: Any, file: Path, requeue_existing: bool, skip_invalid: bool, user: str | None, **options: Any
    ) -> None:
        importer = self._staff_user(user) if user else None
        file_name = clean_file_name(file.name)
        try:
            # Read in chunks by the reader, never whole: the same bounds as an upload.
            with file.open("rb") as stream:
                parsed = read_table(stream, file.name)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc}", returncode=2) from exc
        except OSError as exc:
            reason = OS_REASONS.get(exc.errno or 0, f"error del sistema {exc.errno}")
            raise CommandError(f"No se puede leer {file}: {reason}.", returncode=2) from exc
        report = services.cedula_import_rows(
            rows=parsed.rows,
            file_name=file_name,
            user=importer,
            requeue_existing=requeue_existing,
            skip_invalid=skip_invalid,
        )
        services.cedula_import_audit(report=report, file_name=file_name, actor=importer, ip=None, via="import_cedulas")
        self.stdout.write(json.dumps(report.counts(), ensure_ascii=False))
        if report.invalid_rows:
            self._row_report(report.invalid_rows, report.invalid)
        if report.blocked:
            raise CommandError(
                f"{report.invalid} {'fila inválida' if report.invalid == 1 else 'filas inválidas'}: no se importó nada."
                " Corríjalas o use --skip-invalid.",
                returncode=1,
            )

    def _staff_user(self, email: str) -> Any:
        found = get_user_model().objects.filter(email__iexact=email.strip(), is_active=True).first()
        if found is None or not found.is_staff:
            raise CommandError(f"{email}: no es un usuario activo del personal.", returncode=2)
        return found

    def _row_report(self, rows: tuple[InvalidRow, ...], total: int) -> None:
        for row in rows[:ROW_REPORT_LIMIT]:
            self.stderr.write(f"fila {row.number}: {row.reason}")
        if total > ROW_REPORT_LIMIT:
            self.stderr.write(f"... y {total - ROW_REPORT_LIMIT} filas inválidas más.")
