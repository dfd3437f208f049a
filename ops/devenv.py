"""The development settings of one checkout: `var/dev.env`, with DEBUG=1 and a SECRET_KEY generated for it.

Development is asked for per command, never inferred from the checkout: `./dev` (and `make`, which runs every
Django command through it) sets OPS_DEV=1, and ops/settings.py reads this file then and only then. A production
process never sets OPS_DEV, so neither this file nor anything else `make` writes can switch it into DEBUG, and with
DEBUG unset and no SECRET_KEY it still refuses to start. README.md: "How development and production are kept apart".
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEV_ENV_NAME = "dev.env"

_HEADER = """\
# Development settings of this checkout, written by ops/devenv.py on the first `./dev` or `make run`.
# Read only by processes started through ./dev (OPS_DEV=1): production never reads it. Delete it for a new key.
"""


def ensure_dev_env(var_dir: Path) -> Path:
    """The path of var/dev.env, written first if missing. Safe when several processes start at once."""
    path = var_dir / DEV_ENV_NAME
    if path.exists():
        return path
    var_dir.mkdir(parents=True, exist_ok=True)
    draft = var_dir / f".{DEV_ENV_NAME}.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{_HEADER}DEBUG=1\nSECRET_KEY=dev-{secrets.token_urlsafe(48)}\n")
    try:
        os.link(draft, path)  # atomic, and never over a file another process wrote first
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path
