"""Two qualified persons deciding the same batch at the same moment: one wins, the other is told
who decided (R-REL-5, R-SEQ-1), on PostgreSQL.

SQLite serialises writers, so the race only exists on PostgreSQL; committed data must be seen by
several connections, hence transaction=True (the flush re-creates the checklist templates through
post_migrate).
"""

import threading

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import translation

from core.models import Signature
from core.workflow import WorkflowError
from release import services
from release.models import Batch, ReleaseReview, ReviewStep, Stage
from tests.factories import PASSWORD
from tests.release.review_helpers import designate, to_stage

IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL (SQLite serialises writers)"),
    pytest.mark.django_db(transaction=True),
]


def _race(calls):
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):  # each thread has its own active language
                outcomes[i] = fn()
        except Exception as exc:  # collected and asserted on by the test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_two_qps_deciding_at_once_one_wins_and_the_other_is_told_who(review_batch, p, make_user, settings):
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    qp2 = make_user("qualified_person", username="qp2", full_name="第二受权人")
    designate(p.admin, p.qp, review_batch.product)
    designate(p.admin, qp2, review_batch.product)
    to_stage(review_batch, p, Stage.QP)
    outcomes = _race(
        [
            lambda: services.review_release(batch=review_batch, user=p.qp, password=PASSWORD),
            lambda: services.review_reject(batch=review_batch, user=qp2, password=PASSWORD, reason="外观不合格"),
        ]
    )
    won = [o for o in outcomes if isinstance(o, ReleaseReview)]
    lost = [o for o in outcomes if isinstance(o, WorkflowError)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    review = ReleaseReview.objects.get(batch=review_batch)
    assert review.status in (ReleaseReview.Status.RELEASED, ReleaseReview.Status.REJECTED)
    assert review.decided_by.printed_name in str(lost[0]) and "already decided" in str(lost[0])
    assert ReviewStep.objects.filter(review=review, stage="qp").count() == 1
    qp_step = ReviewStep.objects.get(review=review, stage="qp")
    assert Signature.objects.for_record(qp_step).count() == 1
    batch = Batch.objects.get(pk=review_batch.pk)
    assert batch.status == (Batch.Status.RELEASED if review.decision == "release" else Batch.Status.REJECTED)
