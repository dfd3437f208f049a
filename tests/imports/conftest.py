from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # The file cache under var/ is shared with other suites running at the same time (and with earlier runs).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "imports"}}


@pytest.fixture(autouse=True)
def _private_var_dir(settings, tmp_path):
    # Import previews are kept under VAR_DIR/import-previews: each test gets its own.
    settings.VAR_DIR = tmp_path
