"""Unfold admin settings: the console's navigation and the dashboard callback."""

from __future__ import annotations

from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

UNFOLD = {
    "SITE_TITLE": "Consola de cédulas",
    "SITE_HEADER": "Consola de cédulas",
    "SITE_SYMBOL": "badge",
    "SHOW_HISTORY": True,
    "DASHBOARD_CALLBACK": "cedula.admin.dashboard.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
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
