"""The console's permissions, named once: every admin check and every action declaration reads these constants.

The codenames are declared on CedulaInfo.Meta.permissions (cedula/models/cedula.py); the roles that hold them are
in docs/security.md ("Who may do what").
"""

from __future__ import annotations

QUEUE = "cedula.queue_lookups"  # queue, retry, reset, cancel, revalidate; a batch's buttons; "Ejecutar ahora"
PAUSE = "cedula.pause_lookups"  # the pipeline's switch and a batch's pause/resume
IMPORT = "cedula.import_cedulas"
EXPORT = "cedula.export_cedulas"  # every export, the data-subject export among them
PROBE = "cedula.probe_gate"  # "Probar ahora" while the gate is open
VIEW_CEDULAS = "cedula.view_cedulainfo"  # the dashboard panel
