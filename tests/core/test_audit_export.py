"""The audit-trail CSV export (R-AT-5, issue 12): streamed from rows read as tuples, with the field
list worked out once per table, it writes the same bytes as the export it replaced (one model
instance per history row and its predecessor, every field's label and choices looked up per row),
and a value typed like a formula stays text."""

from __future__ import annotations

import csv
import heapq
import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection, models
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst

from core import audit_trail
from core.audit_trail import _HISTORY_FIELDS, AuditEntry, FieldChange, SearchFilter
from release import services
from tests.core.test_audit_search import SHANGHAI, _backdated_change, _backdated_product
from tests.release.material_helpers import make_lot

pytestmark = pytest.mark.django_db


# --- the export as it was before issue 12's change, kept here as the reference ------------------


def _old_display(f, value) -> str:
    if value is None or value == "":
        return "—"
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.BooleanField):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        from core.templatetags.core_tags import local_dt

        return local_dt(value)
    return str(value)


def _old_diff(new, old) -> list[FieldChange]:
    changes = []
    base_pk = type(new).instance_type._meta.pk.attname
    for f in type(new)._meta.concrete_fields:
        if f.name in _HISTORY_FIELDS or f.primary_key or f.attname == base_pk:
            continue
        new_value = getattr(new, f.attname)
        old_value = getattr(old, f.attname) if old is not None else None
        if old is not None and new_value == old_value:
            continue
        if old is None and new_value in (None, ""):
            continue
        related = f.related_model if f.is_relation and not f.many_to_many else None
        changes.append(
            FieldChange(
                f.name,
                capfirst(str(f.verbose_name)),
                _old_display(f, old_value) if old is not None else "",
                _old_display(f, new_value),
                related_model=related,
                old_raw=old_value,
                new_raw=new_value,
            )
        )
    return changes


def _old_entries(rows) -> list[AuditEntry]:
    hm = type(rows[0])
    base = hm.instance_type
    pk_name = base._meta.pk.attname
    prev_ids = [r.prev_history_id for r in rows if r.prev_history_id]
    prevs = hm.objects.in_bulk(prev_ids, field_name="history_id") if prev_ids else {}
    label_field = getattr(base, "AUDIT_LABEL_FIELD", None)
    out = []
    for r in rows:
        value = getattr(r, label_field, None) if label_field else None
        pk = getattr(r, pk_name)
        out.append(
            AuditEntry(
                when=r.history_date,
                user_id=r.history_user_id,
                model=base,
                object_id=pk,
                record_label=f"{value} (#{pk})" if value else f"#{pk}",
                action=r.history_type,
                reason=r.history_change_reason or "",
                changes=_old_diff(r, prevs.get(r.prev_history_id)),
            )
        )
    return out


def _old_export(flt: SearchFilter, chunk: int = 1000) -> bytes:
    def per_model(hm):
        qs = audit_trail._with_previous(flt.apply(hm.objects.all())).order_by("-history_date", "-history_id")
        last = None
        while True:
            page = qs
            if last is not None:
                d, hid = last
                page = qs.filter(models.Q(history_date__lt=d) | models.Q(history_date=d, history_id__lt=hid))
            rows = list(page[:chunk])
            if not rows:
                return
            for row, entry in zip(rows, audit_trail._attach_users(_old_entries(rows)), strict=True):
                yield (row.history_date, row.history_id, entry)
            last = (rows[-1].history_date, rows[-1].history_id)

    def cell(value):
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
        return value

    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    header = ["Time", "Time zone", "Username", "Printed name", "Record type", "Record", "Record id", "Action"]
    writer.writerow(header + ["Field", "Old value", "New value", "Reason for change"])
    tzname = timezone.get_current_timezone_name()
    streams = [per_model(hm) for hm in audit_trail._selected_models(flt)]
    for _d, _hid, e in heapq.merge(*streams, key=lambda t: (t[0], t[1]), reverse=True):
        when = timezone.localtime(e.when).strftime("%Y-%m-%d %H:%M:%S")
        head = [when, tzname, e.username, e.printed_name, e.record_type, e.record_label, e.object_id, e.action_label]
        if not e.changes:
            writer.writerow([cell(v) for v in head + ["", "", "", e.reason_display]])
        for c in e.changes:
            writer.writerow([cell(v) for v in head + [c.label, c.old, c.new, e.reason_display]])
    return out.getvalue().encode("utf-8")


# --- the data: every kind of value a change can show --------------------------------------------


@pytest.fixture
def history(qa_reviewer, qa_reviewer2, production_reviewer, users):
    """Products with formula-like values (a name, a pack size), backdated changes, a batch (a link
    shown by name, a status shown by its label, dates), a material lot and the batch's use of it
    (named by its lot), and the people's own audit trail."""
    when = datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)
    risky = _backdated_product(qa_reviewer, when, name='=HYPERLINK("http://x")', pack_size="+1 box")
    _backdated_change(risky, qa_reviewer2, datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI), "-2@evil")
    _backdated_change(risky, qa_reviewer, datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI), "@SUM(A1)")
    approved = _backdated_product(qa_reviewer, when, name="乙产品", status="approved")
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": approved,
            "batch_number": "S-1",
            "batch_size": 10,
            "batch_size_unit": "kg",
            "manufacture_date": datetime(2026, 1, 1).date(),
            "site": "车间",
        },
    )
    lot = make_lot(production_reviewer)
    services.batch_material_add(batch=batch, user=production_reviewer, lot=lot, quantity=Decimal("1.5"))
    return risky


def _export(client, **params) -> bytes:
    response = client.get(reverse("core:audit_export"), params)
    assert response.status_code == 200 and response.streaming
    return b"".join(response.streaming_content)


def test_the_export_writes_the_same_bytes_as_before(history, auditor, client_for):
    """R-AT-5 / issue 12: every line, in the same order, byte for byte — the whole trail and one
    filtered by date; chunks of 2 rows so predecessors fall outside the chunk that shows them."""
    client = client_for(auditor)
    full = _export(client)
    with timezone.override(SHANGHAI):
        assert full == _old_export(SearchFilter())
    assert full.count(b"\n") > 60 and "所用物料".encode() not in full  # English, as the client asks
    assert b"YL2611001" in full  # the material used, named by its lot

    ranged = _export(client, date_from="2025-03-01", date_to="2025-03-03")
    flt = SearchFilter(date_from=datetime(2025, 3, 1, tzinfo=SHANGHAI), date_to=datetime(2025, 3, 3, tzinfo=SHANGHAI))
    with timezone.override(SHANGHAI):
        assert ranged == _old_export(flt)
        small_chunks = list(audit_trail.iter_search(SearchFilter(), chunk=2))
    assert [(e.when, e.record_label, [(c.old, c.new) for c in e.changes]) for e in small_chunks] == [
        (e.when, e.record_label, [(c.old, c.new) for c in e.changes])
        for e in audit_trail.iter_search(SearchFilter(), chunk=1000)
    ]


def test_formula_like_values_stay_text(history, auditor, client_for):
    """R-AT-5: a value that starts like a formula (= + - @) is written with a leading quote."""
    rows = list(csv.reader(io.StringIO(_export(client_for(auditor)).decode("utf-8")[1:])))
    cells = {cell for row in rows for cell in row}
    assert '\'=HYPERLINK("http://x")' in cells and "'+1 box" in cells
    assert "'-2@evil" in cells and "'@SUM(A1)" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)


def test_the_export_reads_a_bounded_number_of_queries(history, auditor, client_for, production_reviewer):
    """Issue 12: queries per chunk of rows, never per row: ten more products and their changes
    cost no more queries."""
    client = client_for(auditor)
    with CaptureQueriesContext(connection) as before:
        _export(client)
    when = datetime(2025, 4, 1, 9, 0, tzinfo=SHANGHAI)
    for i in range(10):
        product = _backdated_product(production_reviewer, when, name=f"产品{i}")
        _backdated_change(product, production_reviewer, when.replace(day=2), f"pack {i}")
    with CaptureQueriesContext(connection) as after:
        _export(client)
    assert len(after.captured_queries) <= len(before.captured_queries)


def test_the_search_page_names_a_material_used_by_its_lot_without_a_query_per_row(
    history, auditor, client_for, django_assert_max_num_queries
):
    """R-AT-5: the search reads its page's rows the way the export does; a material used is named
    by its lot, read with the page (one query), not one per row."""
    client = client_for(auditor)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("core:audit_search"), {"record_type": "release.batchmaterial"})
    labels = [e.record_label for e in response.context["entries"]]
    assert labels and all(label.startswith("YL2611001 ") for label in labels)
