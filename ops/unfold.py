"""Unfold admin settings: the console's navigation and the dashboard callback."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

UNFOLD = {
    "SITE_TITLE": "Consola de cédulas",
    "SITE_HEADER": "Consola de cédulas",
    "SITE_SYMBOL": "badge",
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "cedula.admin.dashboard.dashboard_callback",
    # Layout rules beyond the classes Unfold's prebuilt stylesheet holds (cedula/static/cedula/console.css).
    "STYLES": [lambda request: static("cedula/console.css")],
    # Lists and pages of work still running refresh themselves (cedula/static/cedula/live_rows.js).
    "SCRIPTS": [lambda request: static("cedula/live_rows.js")],
    # The command palette finds cedulas (a number or its first digits) as the sidebar search does: ops/admin_site.py.
    "COMMAND": {"search_callback": "ops.admin_site.command_search", "search_models": False},
    "SIDEBAR": {
        "show_search": True,
        # Every page the console has is in the navigation below, in Spanish; the generic list would repeat them.
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("Operación"),
                "items": [
                    {"title": _("Panel"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
                    {
                        "title": _("Cédulas"),
                        "icon": "badge",
                        "link": reverse_lazy("admin:cedula_cedulainfo_changelist"),
                    },
                    {
                        "title": _("Consultando ahora"),
                        "icon": "manage_search",
                        "link": reverse_lazy("admin:cedula_working_now"),
                    },
                    {
                        "title": _("Intentos de consulta"),
                        "icon": "history",
                        "link": reverse_lazy("admin:cedula_lookupattempt_changelist"),
                    },
                    {
                        "title": _("Cambios"),
                        "icon": "change_history",
                        "link": reverse_lazy("admin:cedula_cedulachange_changelist"),
                    },
                    {
                        "title": _("Importaciones"),
                        "icon": "upload_file",
                        "link": reverse_lazy("admin:cedula_importbatch_changelist"),
                    },
                    # Django-Q2, the worker's own record of its tasks.
                    {
                        "title": _("Tareas fallidas"),
                        "icon": "report",
                        "link": reverse_lazy("admin:django_q_failure_changelist"),
                    },
                    {
                        "title": _("Tareas exitosas"),
                        "icon": "task_alt",
                        "link": reverse_lazy("admin:django_q_success_changelist"),
                    },
                    {
                        "title": _("Tareas programadas"),
                        "icon": "event_repeat",
                        "link": reverse_lazy("admin:django_q_schedule_changelist"),
                    },
                    {
                        "title": _("Tareas en cola"),
                        "icon": "pending_actions",
                        "link": lambda request: _ormq_url(),
                        "permission": lambda request: _ormq_url() != "",
                    },
                ],
            },
            {
                "title": _("Cuentas"),
                "items": [
                    {"title": _("Usuarios"), "icon": "person", "link": reverse_lazy("admin:accounts_user_changelist")},
                    {"title": _("Grupos"), "icon": "group", "link": reverse_lazy("admin:auth_group_changelist")},
                    {
                        "title": _("Auditoría"),
                        "icon": "policy",
                        "link": reverse_lazy("admin:cedula_auditrecord_changelist"),
                        "permission": "ops.accounts.security.is_superuser_request",
                    },
                    {
                        "title": _("Bloqueos de ingreso"),
                        "icon": "lock_person",
                        "link": reverse_lazy("admin:accounts_loginlock_changelist"),
                        "permission": "ops.accounts.security.is_superuser_request",
                    },
                ],
            },
        ],
    },
}


def _ormq_url() -> str:
    # With the Redis broker the queued tasks live in Redis and Django-Q2 registers no queue page.
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("admin:django_q_ormq_changelist")
    except NoReverseMatch:
        return ""
