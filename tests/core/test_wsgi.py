"""The WSGI module as deployed (issue 12)."""

from __future__ import annotations

import gc
import importlib


def test_the_wsgi_module_freezes_the_start_up_heap():
    """A full garbage collection of Django's whole start-up heap paused requests ~45 ms every few
    requests; the WSGI module moves that heap out of the collector's reach (gc.freeze)."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        import config.wsgi

        importlib.reload(config.wsgi)
        assert gc.get_freeze_count() > 10_000
        assert callable(config.wsgi.application)
    finally:
        gc.unfreeze()
