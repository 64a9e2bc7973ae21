"""A test record's whole story for the people who review it (R-AT-5, R-QC-4; 检验原始记录管理规程
4.1.4 / 4.2.1 ④; PIC/S PI 041 §9.8): the corrections of each result shown beside its value, and one
timeline merging the record's own history with its results', instruments', reagents', files' and
OOS investigations' histories and every signature.

Read from the audit trail (``core.audit_trail``), never from a stored copy: nothing here can hide a
change the trail holds. A fixed number of queries whatever the number of results.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from core import audit_trail
from core.audit_trail import AuditEntry
from core.signatures import signatures_by_record, signatures_for
from qc_records.criteria import CriterionKind
from qc_records.models import (
    Attachment,
    InstrumentUse,
    OOSInvestigation,
    ReagentUse,
    RefusedCorrection,
    TestRecord,
    TestResult,
)


@dataclass
class Correction:
    """One change of a value already recorded: old → new, why, who, when (single-line strike-through
    of the paper record, 检验记录书写规程 4.2.4 d)."""

    what: str
    old: str
    new: str
    reason: str
    who: str
    when: datetime
    refused: bool = False  # an attempt to change a result under OOS investigation, refused


def _shown(row: Any, kind: str) -> str:
    if kind == CriterionKind.TEXT:
        verdict = {True: _("Complies"), False: _("Does not comply"), None: ""}[row.complies]
        return " · ".join(v for v in (row.value_text, verdict) if v)
    return f"{row.value_text}{row.unit}" if row.value_text else ""


def corrections_by_result(record: TestRecord) -> dict[int, list[Correction]]:
    """For each result of ``record``: every correction of its value or calculation and its
    invalidation, oldest first (two queries: the results' audit trail with its people, the refused
    corrections)."""
    history = TestResult.history.model  # type: ignore[attr-defined]
    rows = list(
        history.objects.filter(record_id=record.pk)
        .select_related("item", "history_user")
        .order_by("id", "history_date", "history_id")
    )
    out: dict[int, list[Correction]] = {}
    previous: dict[int, Any] = {}
    for row in rows:
        before = previous.get(row.id)
        previous[row.id] = row
        if before is None:
            continue
        kind = row.item.criterion_kind
        user = row.history_user if row.history_user_id else None
        who = user.printed_name if user is not None else "—"
        reason = row.history_change_reason or ""
        reason = _(reason) if reason in audit_trail.SYSTEM_REASONS else reason
        old_value, new_value = _shown(before, kind), _shown(row, kind)
        changes = []
        if old_value and old_value != new_value:
            changes.append(Correction(_("Result"), old_value, new_value or "—", reason, who, row.history_date))
        if before.calculation and before.calculation != row.calculation:
            changes.append(
                Correction(_("Calculation"), before.calculation, row.calculation or "—", reason, who, row.history_date)
            )
        if before.voided_at is None and row.voided_at is not None:
            changes.append(Correction(_("Invalidated"), old_value or "—", "", reason, who, row.history_date))
        if changes:
            out.setdefault(row.id, []).extend(changes)
    # Refused attempts to change a result under OOS investigation: beside the value that stands.
    # A record read with ``has_refused_corrections`` (the record page's) that has none: no query.
    attempts = (
        RefusedCorrection.objects.filter(record_id=record.pk).select_related("attempted_by", "result")
        if getattr(record, "has_refused_corrections", True)
        else []
    )
    for attempt in attempts:
        numeric = attempt.result.complies is None and attempt.attempted_value != "—"  # a text item's has a verdict
        unit = attempt.result.unit if numeric else ""
        out.setdefault(attempt.result_id, []).append(
            Correction(
                _("Correction refused (result under OOS investigation)"),
                "",
                f"{attempt.attempted_value}{unit}",
                attempt.reason,
                attempt.attempted_by.printed_name,
                attempt.attempted_at,
                refused=True,
            )
        )
    for changes in out.values():
        changes.sort(key=lambda c: c.when)
    return out


def attach_corrections(record: TestRecord, blocks: list) -> int:
    """Put ``corrections`` on every result of ``blocks``; return how many corrections there are."""
    found = corrections_by_result(record)
    for block in blocks:
        for result in block.results:
            result.corrections = found.get(result.pk, [])
    return sum(1 for v in found.values() for c in v if not c.refused)


# The record's parts whose history belongs to the record's timeline, with the field naming it.
PARTS: tuple[tuple[type, str], ...] = (
    (TestResult, "record_id"),
    (InstrumentUse, "record_id"),
    (ReagentUse, "record_id"),
    (Attachment, "record_id"),
    (OOSInvestigation, "record_id"),
    (RefusedCorrection, "record_id"),
)


def _history_flag(model: type) -> str:
    return f"has_{model._meta.model_name}_history"


def with_history_flags(records: QuerySet[TestRecord]) -> QuerySet[TestRecord]:
    """The records, each saying (EXISTS) which of its parts' history tables hold rows naming it:
    ``record_timeline`` reads only those (issue 12: most records have no file, OOS investigation or
    refused correction, and a query for each empty trail cost the history page ~2 ms apiece at
    scale 1.0). Asked of the audit trail itself, not of the live rows: a part whose row was removed
    from its table behind the application's back still shows its history."""
    return records.annotate(
        **{
            _history_flag(model): Exists(model.history.model.objects.filter(**{field: OuterRef("pk")}))  # type: ignore[attr-defined]
            for model, field in PARTS
            if model in OPTIONAL_PARTS
        }
    )


# The parts most records have none of: asked about (results, instruments and reagents almost every
# record has; an EXISTS for each would only add to the record query's planning, ~0.2 ms apiece).
OPTIONAL_PARTS = (Attachment, OOSInvestigation, RefusedCorrection)


# The people of a test record the record views read with it (qc_records.views.records).
PEOPLE = ("created_by", "submitted_by", "reviewed_by", "approved_by", "reopen_requested_by", "last_changed_by")


def record_timeline(record: TestRecord) -> list[tuple[datetime, str, Any]]:
    """Every change of the record and of its parts, and every signature on the record and its OOS
    investigations, in time order: ``(when, "change" | "signature", entry | (signature, valid))``.

    A fixed number of queries (issue 12): one per history table, one per kind of record the changes
    name (the people with them), the OOS investigations and the signatures of each kind — none per
    change, result or investigation. ``record`` was read by the view in this request."""
    hm = TestRecord.history.model  # type: ignore[attr-defined]
    rows = list(audit_trail._with_previous(hm.objects.filter(id=record.pk)).order_by("history_date", "history_id"))
    entries: list[AuditEntry] = audit_trail._entries(rows)
    for model, field_name in PARTS:
        if not getattr(record, _history_flag(model), True):  # read with_history_flags: it has none
            continue
        hm = model.history.model  # type: ignore[attr-defined]
        rows = list(
            audit_trail._with_previous(hm.objects.filter(**{field_name: record.pk})).order_by(
                "history_date", "history_id"
            )
        )
        entries += audit_trail._entries(rows)
    # The record and what the view read with it (sample, product, specification, people) name
    # most of what the changes point at: not read again.
    known = [record, record.sample, record.specification, record.replaces]
    known += [getattr(record.sample, "product", None), getattr(record.sample, "batch", None)]
    known += [getattr(record, f) for f in PEOPLE]
    audit_trail._attach_users(entries, known=known)
    timeline: list[tuple[datetime, str, Any]] = [(e.when, "change", e) for e in entries]
    timeline += [(s.signed_at, "signature", (s, ok)) for s, ok in signatures_for(record, as_loaded=True)]
    investigations = (
        list(record.oos_investigations.order_by("pk")) if getattr(record, _history_flag(OOSInvestigation), True) else []
    )
    for signed in signatures_by_record(investigations, as_loaded=True).values():
        timeline += [(s.signed_at, "signature", (s, ok)) for s, ok in signed]
    timeline.sort(key=lambda t: t[0])
    return timeline
