"""Every console action and batch button, declared once: its label, confirmation, permission, service, audit code
and label, and the message it leaves.

The admin (cedula/admin/cedula_actions.py, cedula/admin/import_batch.py) builds its actions, dialogs, confirmation
pages and buttons from these; the audit trail's labels (cedula.services.audit.ACTION_LABELS) and the permission
matrix (tests/console/test_permissions.py, docs/security.md) read them too. Pure data: a service is named, not
imported (the services import this module through the audit trail), and the admin resolves it on cedula.services.
"""

from __future__ import annotations

from dataclasses import dataclass

from cedula import permissions


@dataclass(frozen=True)
class ConsoleAction:
    name: str  # the admin's action (its method, URL slug, test id)
    label: str  # the button or menu entry
    audit_code: str  # AuditRecord.action
    audit_label: str  # how the audit trail names it
    permission: str  # a cedula.permissions constant
    confirmation: str = ""  # what the confirmation says before it runs
    service: str = ""  # a name in cedula.services, when the admin calls it by this declaration
    done: tuple[str, str] = ("", "")  # the message after it ran (one row, several rows; "{}" is "N cédulas")
    icon: str = ""  # a Material Symbols name, for buttons
    none: str = ""  # the message when it found nothing to do (count 0), if it differs
    submit: str = ""  # the dialog's button

    def done_message(self, count: int, **names: str) -> str:
        """What staff read after it ran, the count in words ("1 cédula", "3 cédulas"); `names` fill "{name}"."""
        if count == 0 and self.none:
            return self.none.format(**names)
        one, many = self.done
        if not one:  # a batch button: its label and what it touched
            one = many = f"{self.label}: {{}}."
        return (one if count == 1 else many).format("1 cédula" if count == 1 else f"{count} cédulas", **names)


def _same(text: str) -> tuple[str, str]:
    """A message that reads the same for one row and for several."""
    return text, text


# The changelist's set-based actions: on the ticked rows, or on every row matching the filter ("todas las que
# coinciden con el filtro"). One UPDATE each.
CEDULA_SET_ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction(
        name="queue_now",
        label="Consultar ahora",
        audit_code="cedula.queue_now",
        audit_label="Consultar ahora",
        permission=permissions.QUEUE,
        confirmation="Las cédulas del filtro pasan a la cola con prioridad de personal.",
        service="cedulas_queue_matching",
        done=("{} en cola para consulta.", "{} en cola para consulta."),
    ),
    ConsoleAction(
        name="retry_failed",
        label="Reintentar las fallidas",
        audit_code="cedula.retry_failed",
        audit_label="Reintentar las fallidas",
        permission=permissions.QUEUE,
        confirmation="Las cédulas del filtro que terminaron con error vuelven a la cola.",
        service="cedulas_retry_failed_matching",
        done=("{} con error vuelve a la cola.", "{} con error vuelven a la cola."),
    ),
    ConsoleAction(
        name="reset_pending",
        label="Reiniciar a pendiente",
        audit_code="cedula.reset_pending",
        audit_label="Reiniciar a pendiente",
        permission=permissions.QUEUE,
        confirmation="Se olvida la respuesta de las cédulas del filtro y vuelven a la cola (las que se consultan "
        "ahora no).",
        service="cedulas_reset_matching",
        done=("{} reiniciada y en cola.", "{} reiniciadas y en cola."),
    ),
    ConsoleAction(
        name="cancel_pending",
        label="Cancelar pendientes",
        audit_code="cedula.cancel",
        audit_label="Cancelar consultas",
        permission=permissions.QUEUE,
        confirmation="Las cédulas del filtro que están en cola salen de ella: las ya consultadas conservan su "
        "respuesta, las nunca consultadas quedan «sin consultar (cancelada por el operador)».",
        service="cedulas_cancel_pending",
        done=(
            "{} sale de la cola (cancelada por el operador).",
            "{} salen de la cola (canceladas por el operador).",
        ),
    ),
)

# The other cedula actions: on the ticked rows, on one row, and the pipeline's switch.
CEDULA_REVALIDATE = ConsoleAction(
    name="revalidate",
    label="Revalidar",
    audit_code="cedula.revalidate",
    audit_label="Revalidar",
    permission=permissions.QUEUE,
    done=_same(
        "{} en cola para revalidar (las que tienen error, nunca se consultaron o ya están en cola no se tocan)."
    ),
)
CEDULA_LOOKUP_NOW = ConsoleAction(
    name="lookup_now",
    label="Consultar ahora",
    audit_code="cedula.lookup_now",
    audit_label="Consultar ahora (una cédula)",
    permission=permissions.QUEUE,
    confirmation="La cédula pasa al frente de la cola de consultas.",
    icon="travel_explore",
    done=_same("Consulta en cola."),
    none="La cédula ya estaba en cola.",
    submit="Consultar",
)
CEDULA_DATA_SUBJECT_EXPORT = ConsoleAction(
    name="data_subject_export",
    label="Exportar datos del titular",
    audit_code="cedula.data_subject_export",
    audit_label="Exportar datos de un titular",
    permission=permissions.EXPORT,
    icon="folder_shared",
)
LOOKUPS_PAUSE = ConsoleAction(
    name="pause_lookups",
    label="Pausar consultas",
    audit_code="lookups.pause",
    audit_label="Pausar consultas",
    permission=permissions.PAUSE,
    confirmation="El trabajador no toma más cédulas hasta reanudar.",
    icon="pause_circle",
    done=_same("Consultas en pausa."),
    submit="Pausar",
)
LOOKUPS_RESUME = ConsoleAction(
    name="resume_lookups",
    label="Reanudar consultas",
    audit_code="lookups.resume",
    audit_label="Reanudar consultas",
    permission=permissions.PAUSE,
    confirmation="El trabajador vuelve a tomar cédulas.",
    icon="play_circle",
    done=_same("Consultas reanudadas."),
    submit="Reanudar",
)
LOOKUPS_PROBE = ConsoleAction(
    name="probe_gate",
    label="Probar ahora",
    audit_code="lookups.probe",
    audit_label="Probar ahora el registro o el resolvedor",
    permission=permissions.PROBE,
    confirmation="El trabajador prueba enseguida si la causa de la pausa sigue (una carga de la página del registro o "
    "una consulta del saldo del resolvedor, sin consultar ninguna cédula).",
    icon="network_check",
    done=(
        "Prueba pedida: el trabajador la hace en unos segundos.",
        "Prueba pedida: el trabajador la hace en unos segundos.",
    ),
    none="Las consultas ya no están en pausa: no hay nada que probar.",
    submit="Probar",
)

# A batch page's buttons (name = BatchEvent.Action; service = cedula.services.BATCH_ACTIONS[name]).
BATCH_BUTTONS: tuple[ConsoleAction, ...] = (
    ConsoleAction(
        name="retry_errors",
        label="Reintentar las fallidas",
        audit_code="batch.retry_errors",
        audit_label="Reintentar los errores de un lote",
        permission=permissions.QUEUE,
        confirmation="Las cédulas del lote que terminaron con error vuelven a la cola.",
        icon="replay",
    ),
    ConsoleAction(
        name="pause",
        label="Pausar el lote",
        audit_code="batch.pause",
        audit_label="Pausar un lote",
        permission=permissions.PAUSE,
        confirmation="Las cédulas en cola del lote salen de la cola hasta reanudar; la que se consulta ahora termina.",
        icon="pause_circle",
    ),
    ConsoleAction(
        name="resume",
        label="Reanudar el lote",
        audit_code="batch.resume",
        audit_label="Reanudar un lote",
        permission=permissions.PAUSE,
        confirmation="Las cédulas que la pausa sacó de la cola vuelven a ella.",
        icon="play_circle",
    ),
    ConsoleAction(
        name="move_ahead",
        label="Adelantar",
        audit_code="batch.move_ahead",
        audit_label="Adelantar un lote",
        permission=permissions.QUEUE,
        confirmation="El lote pasa delante de las demás importaciones (las consultas de personas siguen primero).",
        icon="keyboard_double_arrow_up",
    ),
    ConsoleAction(
        name="move_behind",
        label="Atrasar",
        audit_code="batch.move_behind",
        audit_label="Atrasar un lote",
        permission=permissions.QUEUE,
        confirmation="El lote pasa detrás de las demás importaciones.",
        icon="keyboard_double_arrow_down",
    ),
    ConsoleAction(
        name="cancel",
        label="Cancelar pendientes",
        audit_code="batch.cancel",
        audit_label="Cancelar lo pendiente de un lote",
        permission=permissions.QUEUE,
        confirmation="Las cédulas que el lote aún tiene en cola salen de ella. Las ya consultadas conservan su "
        "respuesta; las nunca consultadas quedan «sin consultar (cancelada por el operador)» y pueden volver a "
        "encolarse.",
        icon="cancel",
    ),
)
BATCH_REVALIDATE = ConsoleAction(
    name="revalidate",
    label="Revalidar",
    audit_code="batch.revalidate",
    audit_label="Revalidar lotes",
    permission=permissions.QUEUE,
    done=_same("{} de las importaciones en cola para revalidar."),
)
BATCH_EXPORT = ConsoleAction(
    name="export",
    label="Exportar",
    audit_code="batch.export",
    audit_label="Exportar los resultados de un lote",
    permission=permissions.EXPORT,
)

# A Django-Q2 schedule's row action ("Ejecutar ahora"): its job enqueued once, its next run unchanged.
SCHEDULE_RUN_NOW = ConsoleAction(
    name="run_now",
    label="Ejecutar ahora",
    audit_code="schedule.run_now",
    audit_label="Ejecutar tarea programada ahora",
    permission=permissions.QUEUE,
    confirmation="La tarea se ejecuta una vez, ya, a través de la cola; su próxima ejecución no cambia.",
    icon="play_arrow",
    done=_same("«{name}» en cola para ejecutarse ahora."),
    submit="Ejecutar",
)

CONSOLE_ACTIONS: tuple[ConsoleAction, ...] = (
    *CEDULA_SET_ACTIONS,
    CEDULA_REVALIDATE,
    CEDULA_LOOKUP_NOW,
    CEDULA_DATA_SUBJECT_EXPORT,
    LOOKUPS_PAUSE,
    LOOKUPS_RESUME,
    LOOKUPS_PROBE,
    *BATCH_BUTTONS,
    BATCH_REVALIDATE,
    BATCH_EXPORT,
    SCHEDULE_RUN_NOW,
)


def set_action(name: str) -> ConsoleAction | None:
    return next((spec for spec in CEDULA_SET_ACTIONS if spec.name == name), None)


def batch_button(name: str) -> ConsoleAction | None:
    return next((spec for spec in BATCH_BUTTONS if spec.name == name), None)
