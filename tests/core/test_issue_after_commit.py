"""core.pdf.issue_after_commit: the one way an app issues a PDF after its signing action (issue 6;
R-REL-6, R-SIG-2: a document never describes a state that was rolled back)."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from core.pdf import issue_after_commit

pytestmark = pytest.mark.django_db


def test_the_document_is_issued_only_when_the_action_commits(django_capture_on_commit_callbacks):
    calls = []
    with django_capture_on_commit_callbacks(execute=True):
        issue_after_commit(lambda **kw: calls.append(kw), record_pk=7, user_pk=3)
        assert calls == []  # not inside the transaction
    assert calls == [{"record_pk": 7, "user_pk": 3}]


def test_a_rolled_back_action_issues_nothing():
    calls = []

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        issue_after_commit(lambda **kw: calls.append(kw), record_pk=1)
        raise Refused
    assert calls == []


def test_a_failed_render_is_logged_and_does_not_undo_the_action(django_capture_on_commit_callbacks, caplog):
    def broken_issue(**kwargs):
        raise RuntimeError("fonts missing")

    with caplog.at_level(logging.ERROR, logger="core.pdf"), django_capture_on_commit_callbacks(execute=True):
        issue_after_commit(broken_issue, record_pk=5)
    assert "Could not issue the document broken_issue" in caplog.text
    assert "record_pk" in caplog.text and "fonts missing" in caplog.text


def test_the_setting_defers_every_document_to_its_first_download(settings, django_capture_on_commit_callbacks):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    calls = []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        issue_after_commit(lambda **kw: calls.append(kw), record_pk=2)
    assert calls == [] and callbacks == []
