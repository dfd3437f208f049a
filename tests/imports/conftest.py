from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # The file cache under var/ is shared with other suites running at the same time (and with earlier runs).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "imports"}}
