"""R-PERF-1: pages issue a bounded number of queries whatever the number of items and rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from qc_records import services
from qc_records.models import Category
from tests.factories import InstrumentFactory, ReagentFactory
from tests.qc_records.helpers import make_spec

pytestmark = pytest.mark.django_db


def _items(n: int):
    kinds = [
        ("numeric", Decimal("95.0"), Decimal("105.0"), 1, "%", "", 1),
        ("text", None, None, None, "", "应符合规定", 1),
        ("numeric", None, Decimal("0.5"), 2, "%", "", 2),
        ("report", None, None, None, "cfu/g", "", 1),
    ]
    return [(f"检验项目{i:02d}",) + kinds[i % 4] for i in range(n)]


def _record(qc, product, batch, n_items, code):
    spec = make_spec(author=qc.head, approver=qc.qa, product=product, code=code, items=_items(n_items))
    return services.record_create(sample=_sample(qc, spec, batch), user=qc.analyst)


def _sample(qc, spec, batch):
    return services.sample_create(
        user=qc.analyst,
        data=dict(
            category=Category.FINISHED_PRODUCT,
            specification=spec,
            batch=batch,
            quantity=Decimal("10"),
            quantity_unit="粒",
            received_date=timezone.localdate(),
        ),
    )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_forty_item_record_form_and_detail_use_the_same_queries_as_five(qc, approved_product, batch, client_for):
    for _n in range(5):
        InstrumentFactory(last_changed_by=qc.head)
        ReagentFactory(last_changed_by=qc.head)
    small = _record(qc, approved_product, batch, 5, "ZL-S")
    large = _record(qc, approved_product, batch, 40, "ZL-L")
    assert large.results.count() == 50
    client = client_for(qc.analyst)
    for name in ("qc_records:record_edit", "qc_records:record_detail"):
        n_small = _count(client, reverse(name, args=[small.pk]))
        n_large = _count(client, reverse(name, args=[large.pk]))
        assert n_large <= n_small, name
        assert n_large <= 30, name


def test_list_pages_do_not_grow_with_rows(qc, approved_product, batch, client_for):
    record = _record(qc, approved_product, batch, 3, "ZL-Q")
    client = client_for(qc.head)
    pages = [
        reverse(n)
        for n in (
            "qc_records:spec_list",
            "qc_records:instrument_list",
            "qc_records:reagent_list",
            "qc_records:sample_list",
            "qc_records:ledger",
            "qc_records:oos_list",
            "qc_records:index",
            "core:my_work",
        )
    ]

    def add_rows():
        InstrumentFactory(last_changed_by=qc.head, calibration_due=timezone.localdate())
        ReagentFactory(last_changed_by=qc.head, expiry_date=timezone.localdate())
        sample = services.sample_create(
            user=qc.analyst,
            data=dict(
                category=Category.FINISHED_PRODUCT,
                specification=record.specification,
                batch=batch,
                quantity=Decimal("1"),
                quantity_unit="粒",
                received_date=timezone.localdate(),
            ),
        )
        services.record_create(sample=sample, user=qc.analyst)

    add_rows()
    before = {url: _count(client, url) for url in pages}
    for _ in range(6):
        add_rows()
    for url in pages:
        assert _count(client, url) <= before[url], url


def _approved_record_with_corrections(qc, product, batch, instrument, reagent, code: str, dissolution_replicates: int):
    """An approved record whose every result was corrected once (a correction, an audit-trail
    row and a reason each), reached through the services."""
    from tests.factories import PASSWORD
    from tests.qc_records.helpers import ALL_CONFIRMED, ITEMS, fill

    items = [it[:7] + (dissolution_replicates,) if it[0] == "溶出度" else it for it in ITEMS]
    spec = make_spec(author=qc.head, approver=qc.qa, product=product, code=code, items=items)
    record = services.record_create(sample=_sample(qc, spec, batch), user=qc.analyst)
    fill(record, qc.analyst, instrument=instrument, reagent=reagent)
    fill(
        record,
        qc.analyst,
        instrument=instrument,
        reagent=reagent,
        overrides={"含量测定": "99.9", "溶出度": "93", "有关物质": "0.4", "微生物限度": "<20"},
        reason="transcription error",
    )
    record, _opened = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    record = services.record_review(checklist=ALL_CONFIRMED, record=record, user=qc.reviewer, password=PASSWORD)
    return services.record_approve(record=record, user=qc.head, password=PASSWORD)


@pytest.mark.parametrize("page", ["qc_records:record_detail", "qc_records:record_history"])
def test_record_detail_and_history_stay_within_twenty_queries_whatever_the_results(
    page, qc, approved_product, batch, instrument, reagent, client_for, settings, django_assert_max_num_queries
):
    """R-PERF-1 / issue 12: the record page and its history (corrections, audit trail, signatures)
    cost at most 20 queries — the session save and its savepoints included — and the same number
    for a record of 6 results as for one of 15, each result corrected once; the record page reads
    files, discarded runs and OOS investigations only for a record that has some. No query joins more than
    six tables: the record's six people come in one query of their own (a 13-table join took
    PostgreSQL 7–13 ms to plan at scale 1.0), and the page still names them."""
    settings.DOCUMENTS_ISSUE_ON_COMMIT = False
    small = _approved_record_with_corrections(qc, approved_product, batch, instrument, reagent, "ZL-S", 1)
    large = _approved_record_with_corrections(qc, approved_product, batch, instrument, reagent, "ZL-L", 10)
    assert (small.results.filter(voided_at__isnull=True).count(), large.results.count()) == (6, 15)
    client = client_for(qc.reviewer)
    counts = []
    for record in (small, large):
        with django_assert_max_num_queries(20) as ctx:
            response = client.get(reverse(page, args=[record.pk]))
        assert response.status_code == 200
        text = response.content.decode()
        assert "transcription error" in text
        assert qc.reviewer.printed_name in text and qc.head.printed_name in text
        assert max(q["sql"].count(" JOIN ") for q in ctx.captured_queries) <= 6
        counts.append(len(ctx.captured_queries))
        if page == "qc_records:record_detail":
            # No file, discarded run, OOS or refused correction: the record's query said so, their
            # rows are not read.
            tables = (
                "qc_records_attachment",
                "qc_records_discardedrun",
                "qc_records_oosinvestigation",
                "qc_records_refusedcorrection",
            )
        else:
            # No file, OOS investigation or refused correction ever: their audit trails said so
            # (the record's query asks them), they are not read.
            tables = (
                "qc_records_historicalattachment",
                "qc_records_historicaloosinvestigation",
                "qc_records_historicalrefusedcorrection",
                "qc_records_oosinvestigation",
            )
        assert [q for q in ctx.captured_queries if q["sql"].startswith(tuple(f'SELECT "{t}"' for t in tables))] == []
    assert counts[0] == counts[1]


def test_the_record_page_checks_the_content_digest_from_the_rows_it_read(
    qc, filled_record, client_for, settings, tmp_path
):
    """R-QC-4 / issue 12: the page compares the signed digest with one computed from the rows it
    shows (results, uses, files, discarded runs, per-item test dates) instead of reading them
    again; that digest is the one the service computes, and a changed result is still reported."""
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile

    from qc_records.services import ResultEntry
    from tests.factories import PASSWORD

    settings.MEDIA_ROOT = tmp_path
    record = filled_record
    item = record.specification.items.get(name="含量测定")
    services.attachment_add(record=record, user=qc.analyst, upload=SimpleUploadedFile("c.txt", b"chromatogram"))
    services.discarded_run_add(record=record, user=qc.analyst, item=item, data="第2针 98.1", cause="进样针堵塞")
    assay = record.results.get(item=item)
    services.record_update(
        record=record,
        user=qc.analyst,
        header={},
        results={
            assay.pk: ResultEntry(
                value_text="99.1", calculation="按外标法计算", tested_on=record.test_date - timedelta(days=1)
            )
        },
        instruments=[u.instrument for u in record.instrument_uses.all()],
        reagents=[u.reagent for u in record.reagent_uses.all()],
        reason="tested the day before",
    )
    record, _opened = services.record_submit(record=record, user=qc.analyst, password=PASSWORD)
    record.refresh_from_db()
    assert record.results.filter(tested_on__isnull=False).exists() and record.discarded_runs.exists()
    every_result: list = []
    record.item_blocks(every_result)
    loaded = record.content_digest_of(
        every_result,
        list(record.instrument_uses.all()),
        list(record.reagent_uses.all()),
        list(record.attachments.all()),
        list(record.discarded_runs.all()),
    )
    assert loaded == record.compute_content_digest() == record.content_digest
    client = client_for(qc.reviewer)
    warning = "changed after the record was signed"
    assert warning not in client.get(record.get_absolute_url()).content.decode()
    from django.db import connection

    with connection.cursor() as cursor:  # a value changed around the application
        cursor.execute("UPDATE qc_records_testresult SET value_text = '101.0' WHERE id = %s", [assay.pk])
    assert warning in client.get(record.get_absolute_url()).content.decode()


def test_the_history_page_shows_the_trail_of_a_file_whose_row_was_removed_behind_its_back(
    qc, filled_record, client_for, settings, tmp_path
):
    """R-AT-5 / issue 12: the history page reads a part's audit trail only when the trail has rows
    naming the record, and asks the trail itself, not the live table: a file row deleted in the
    database (bypassing the application) still shows its history, as does a file added normally."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    url = reverse("qc_records:record_history", args=[filled_record.pk])
    client = client_for(qc.reviewer)
    with CaptureQueriesContext(connection) as ctx:
        before = client.get(url).content.decode()
    reads = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "qc_records_historicalattachment"')]
    assert reads == [] and "chrom-7.txt" not in before
    attachment = services.attachment_add(
        record=filled_record, user=qc.analyst, upload=SimpleUploadedFile("chrom-7.txt", b"peak"), description="色谱图"
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM qc_records_attachment WHERE id = %s", [attachment.pk])
    with CaptureQueriesContext(connection) as ctx:
        after = client.get(url).content.decode()
    reads = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "qc_records_historicalattachment"')]
    assert len(reads) == 1 and "chrom-7.txt" in after
