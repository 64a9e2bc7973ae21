"""The suite's two-worker scheduling (bin/test): tests sharing an expensive setup stay on one
worker, every other test is its own unit (so pytest-django's order, transactional tests last,
holds on each worker)."""

from __future__ import annotations

import pytest

from tests.conftest import shared_setup_group

pytest.importorskip("xdist")


def test_browser_and_backup_tests_form_one_group_each():
    assert shared_setup_group("tests/browser/test_release_path.py::test_release_path") == "browser"
    assert shared_setup_group("tests/browser/test_api_docs.py::test_docs[chromium]") == "browser"
    assert shared_setup_group("tests/core/test_backup_restore.py::test_round_trip[postgresql]") == "backup_restore"
    assert shared_setup_group("tests/core/test_backup.py::test_x") is None
    assert shared_setup_group("tests/release/test_gate.py::test_y") is None


def test_the_scheduler_splits_scopes_by_group(pytestconfig):
    from tests.conftest import pytest_xdist_make_scheduler

    class Config:
        def getvalue(self, name):
            return "loadgroup"

        def __getattr__(self, name):
            return getattr(pytestconfig, name)

    scheduler = pytest_xdist_make_scheduler(Config(), log=None)
    assert scheduler._split_scope("tests/browser/test_release_path.py::test_a") == "browser"
    assert scheduler._split_scope("tests/core/test_backup_restore.py::test_b[sqlite]") == "backup_restore"
    one, two = "tests/release/test_gate.py::test_a", "tests/release/test_gate.py::test_b"
    assert scheduler._split_scope(one) != scheduler._split_scope(two)
