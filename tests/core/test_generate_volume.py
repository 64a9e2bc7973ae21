"""The volume generator for the benchmarks (issue 12 item 1): copies of the demo's records that
pass every constraint, with history rows and valid chained signatures; refused where it would
do harm."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from core import integrity
from core.audit import history_index_name, tables_with_append_only_triggers
from core.models import Signature

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is for SQLite")
def test_refused_on_sqlite_with_the_reason(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("generate_volume", "--scale", "0.001", stdout=StringIO())


def test_refused_outside_debug_without_the_scratch_flag(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="scratch database"):
        call_command("generate_volume", "--scale", "0.001", stdout=StringIO())


def test_unknown_label_is_named(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="unknown labels: release.Nothing"):
        call_command("generate_volume", "--only", "release.Nothing", stdout=StringIO())


def test_every_history_table_has_the_user_and_record_time_indexes():
    """Issue 12 item 4: the search by person, a record's timeline and each change's predecessor
    are served by an index on every history table."""
    from core.audit import history_models

    with connection.cursor() as cursor:
        for hm in history_models():
            table = hm._meta.db_table
            indexes = connection.introspection.get_constraints(cursor, table)
            assert history_index_name(table, "user") in indexes, table
            assert history_index_name(table, "rec") in indexes, table


@pytest.mark.skipif(connection.vendor != "postgresql", reason="generate_volume runs on PostgreSQL only")
def test_generated_rows_are_valid_with_history_and_signatures(settings, django_capture_on_commit_callbacks):
    """Issue 12 item 1: at a tiny scale every planned model grows, each generated row has its
    history, every approved test record its test report, and the nightly integrity check passes
    over the generated signatures and documents."""
    from django.contrib.contenttypes.models import ContentType

    from aftersales.models import CustomerVisit, Shipment
    from core.models import Document
    from qc_records.models import TestRecord, TestResult
    from recalls.models import Recall, RecallConsignee
    from release.models import Batch, BatchMaterial, Deviation, MaterialLot, QPDesignation, ReleaseReview

    settings.DEBUG = True
    with django_capture_on_commit_callbacks(execute=True):  # the demo's documents are issued after commit
        call_command("seed_demo", stdout=StringIO())
    # Issue 12: deviations (with their batches), material lots and their use, QP designations,
    # customer visits and recalls (with batches and consignees) are generated too.
    grown = (Deviation, Deviation.batches.through, MaterialLot, BatchMaterial, QPDesignation, CustomerVisit)
    grown += (Recall, RecallConsignee)
    before = {m: m._base_manager.count() for m in (Batch, TestResult, Shipment, Signature, *grown)}
    history_before = Batch.history.count()
    from django.db.models import F

    from qc_records.models import InstrumentUse, ReagentUse

    def late_uses() -> tuple[int, int]:
        return (
            InstrumentUse._base_manager.filter(calibration_due__lt=F("record__test_date")).count(),
            ReagentUse._base_manager.filter(expiry_date__lt=F("record__test_date")).count(),
        )

    demo_late = late_uses()
    demo_uses = InstrumentUse._base_manager.count()
    demo_review_states = set(ReleaseReview._base_manager.values_list("status", flat=True))
    demo_reviews = list(ReleaseReview._base_manager.order_by("-pk").prefetch_related("steps"))
    out = StringIO()
    call_command("generate_volume", "--scale", "0.001", stdout=out)
    text = out.getvalue()
    assert "release.Batch: 100 rows" in text and "done in" in text
    assert Batch._base_manager.count() == before[Batch] + 100
    assert TestResult._base_manager.count() > before[TestResult]
    assert Shipment._base_manager.count() == before[Shipment] + 1000
    # One "created" row and three "changed" rows per generated batch, as the plan says.
    assert Batch.history.count() == history_before + 400
    assert Signature._base_manager.count() > before[Signature]
    assert [m for m in grown if m._base_manager.count() <= before[m]] == []
    # An instrument's calibration due date and a reagent's expiry keep the demo's distance to their
    # record's test date (Spec.align): no generated record is tested with an instrument past
    # calibration or a reagent past expiry that its demo template was not (before, about 45 % were).
    assert InstrumentUse._base_manager.count() > demo_uses
    assert late_uses() == demo_late
    # A batch's one review: the older copies are decided (released or rejected, both), only the
    # newest 1% may be in any state (core.volume.SETTLED), not every copy the first template.
    copies = list(ReleaseReview._base_manager.order_by("pk").values_list("status", flat=True))[-100:]
    assert set(copies[:-1]) == {"released", "rejected"} and len(demo_review_states) > 3
    assert copies[-1] in demo_review_states
    # A review's steps are those of the demo's review in its state, dated after it started: a
    # released copy shows its production, QC, QA, stamp and QP release steps, a rejected one the
    # QP's rejection (core.volume.Spec.like_parent), each QP step with its certificate or report.
    from release.models import ReviewStep

    demo_steps = {r.status: sorted((s.stage, s.decision) for s in r.steps.all()) for r in demo_reviews}
    for review in ReleaseReview._base_manager.order_by("-pk")[:100]:
        steps = ReviewStep._base_manager.filter(review=review)
        assert sorted(steps.values_list("stage", "decision")) == demo_steps[review.status], review.status
        assert not steps.filter(signed_at__lt=review.created_at).exists()
    assert "release.ReviewStep: " in text and "rows (as their parents' states)" in text
    settled = ReleaseReview._base_manager.order_by("-pk")[1:100]  # the newest may be in any state
    qp_steps = ReviewStep._base_manager.filter(stage="qp", review__in=list(settled))
    step_documents = Document.objects.filter(content_type=ContentType.objects.get_for_model(ReviewStep))
    assert qp_steps.count() == 99
    assert set(step_documents.filter(object_id__in=qp_steps.values("pk")).values_list("kind", flat=True)) == {
        "release_certificate",
        "nonconforming_report",
    }
    assert step_documents.filter(object_id__in=qp_steps.values("pk")).count() == 99
    # Recalls in progress are copies of the demo's one: dated within the last ~90 days, not years.
    from datetime import timedelta

    from django.utils import timezone

    started = Recall._base_manager.exclude(started_at=None).values_list("started_at", flat=True)
    assert len(started) > 1 and min(started) > timezone.now() - timedelta(days=100)
    # Documents: a test report for every approved test record (the demo's and the copies), each
    # with its own number and verification code, the stored PDF the same (its hash checked below).
    reports = Document.objects.filter(kind="qc_test_report", content_type=ContentType.objects.get_for_model(TestRecord))
    approved = TestRecord._base_manager.filter(status=TestRecord.Status.APPROVED)
    assert "documents qc_test_report on qc_records.TestRecord: " in text
    assert reports.count() > 4
    assert set(reports.values_list("object_id", flat=True)) == set(approved.values_list("pk", flat=True))
    # Copies are version 1 of their record's report (a demo record may have a second version).
    assert not reports.filter(object_id__gt=approved.order_by("pk")[3].pk, version__gt=1).exists()
    assert reports.values("verification_code").distinct().count() == reports.count()
    copy = reports.order_by("-pk").first()
    assert copy.number.endswith(f"-V{copy.object_id}") and copy.verification_code.isalnum()
    # States apps store from other records are set on the copies (core.volume.register_stored_state)
    # and checked by the integrity run below against those records.
    import re

    for label in ("qc_records.Sample", "aftersales.Customer"):
        assert re.search(rf"^{re.escape(label)}: [\d,]+ stored states set in ", text, re.M), label
    from django.utils import translation

    with translation.override("en"):
        report = integrity.run()
    assert report.ok, [str(f) for f in report.findings[:5]]
    assert report.checked["stored test states of samples"] > 400
    assert report.checked["stored last visits of customers"] > 5
    assert {Batch.history.model._meta.db_table} <= tables_with_append_only_triggers()
    # My work reads only the columns each queue shows (``.only()``): with the generated queues
    # full, no role's page loads a left-out field row by row.
    from django.test import Client
    from django.urls import reverse

    from core.models import User
    from core.roles import ALL_ROLES
    from tests.core.helpers import deferred_loads

    full = set()
    for role in ALL_ROLES:
        client = Client()
        client.force_login(User.objects.get(username=role))
        with deferred_loads() as loaded:
            response = client.get(reverse("core:my_work"))
        assert response.status_code == 200 and loaded == [], (role, loaded[:3])
        full |= {q.key for q in response.context["queues"] if len(q.items) > 1}
    assert len(full) >= 10, full


@pytest.mark.skipif(connection.vendor != "postgresql", reason="generate_volume runs on PostgreSQL only")
def test_review_steps_take_no_scale_of_their_own():
    """The steps follow their reviews' states (Spec.like_parent): a scale given to them alone would
    be ignored, so it is refused with what to do instead."""
    from core.volume import PLAN, Generator, VolumeError

    spec = next(s for s in PLAN if s.label == "release.ReviewStep")
    generator = Generator(scale=0.001, scales={"release.ReviewStep": 2.0}, out=lambda _line: None)
    generator.generated["release.ReleaseReview"] = (1, 1)
    with pytest.raises(VolumeError, match=r"follows its parents' states: give release\.ReleaseReview a scale"):
        generator.copy_like_parent(spec)
