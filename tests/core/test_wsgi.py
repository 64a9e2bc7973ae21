"""The WSGI module as deployed (issue 12)."""

from __future__ import annotations

import gc
import importlib

from django.core.signals import request_finished


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
        request_finished.disconnect(dispatch_uid="config.wsgi.warm_heap")


def test_the_caches_of_the_first_requests_are_frozen_too(monkeypatch):
    """What the first requests build (templates, catalogues, resolvers) is frozen after the 1st,
    10th, 100th and 1000th request, each time after a collection (so garbage is never frozen), and
    never again: a full collection then walks only what current requests make (~1 ms, not ~8)."""
    import config.wsgi

    try:
        importlib.reload(config.wsgi)
        calls: list[tuple[str, int]] = []
        heap = config.wsgi.WarmHeap()
        monkeypatch.setattr(gc, "collect", lambda *a: calls.append(("collect", heap.served)) or 0)
        monkeypatch.setattr(gc, "freeze", lambda: calls.append(("freeze", heap.served)))
        for _ in range(1500):
            heap(sender=None)
        assert calls == [(step, n) for n in (1, 10, 100, 1000) for step in ("collect", "freeze")]
        # The deployed module's receiver listens to every finished request.
        assert any(receiver[0][0] == "config.wsgi.warm_heap" for receiver in request_finished.receivers), (
            request_finished.receivers
        )
    finally:
        gc.unfreeze()
        request_finished.disconnect(dispatch_uid="config.wsgi.warm_heap")
