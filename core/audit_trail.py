"""Reading the audit trail: per-record timelines and the global search (R-AT-5).

History rows come from django-simple-history; each history model is one record type. A page of
search results costs a fixed number of queries per record type (rows, their predecessors, the
users), whatever the number of rows stored.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from core.audit import history_models

# Reasons the system itself writes (stored in English, shown in the reader's language).
SYSTEM_REASONS = {
    gettext_noop("created"),
    gettext_noop("registered"),
    gettext_noop("approved"),
    gettext_noop("demo data"),
    gettext_noop("failed password"),
    gettext_noop("account locked after failed passwords"),
    gettext_noop("successful sign-in"),
    gettext_noop("correct signing password"),
    gettext_noop("unlocked by administrator"),
    gettext_noop("password changed by its owner"),
    gettext_noop("password reset by administrator"),
    gettext_noop("account created without a password"),
    gettext_noop("changed in administration"),
    gettext_noop("created in administration"),
}


def register_system_reasons(*reasons: str) -> None:
    """Apps name the fixed reasons their services write (wrapped in gettext_noop), so the audit
    trail shows them in the reader's language."""
    SYSTEM_REASONS.update(reasons)


ACTION_LABELS = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}
_HISTORY_FIELDS = {
    "history_id",
    "history_date",
    "history_change_reason",
    "history_type",
    "history_user",
    "history_relation",
}


@dataclass
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    # For a foreign key: the related model and raw ids, replaced by names in _resolve_relations().
    related_model: type[models.Model] | None = None
    old_raw: Any = None
    new_raw: Any = None


@dataclass
class AuditEntry:
    when: datetime
    user_id: int | None
    model: type[models.Model]
    object_id: Any
    record_label: str
    action: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)
    username: str = ""
    printed_name: str = ""
    history_url: str = ""  # set by the audit search page

    @property
    def reason_display(self) -> str:
        return gettext(self.reason) if self.reason in SYSTEM_REASONS else self.reason

    @property
    def action_label(self) -> str:
        return str(ACTION_LABELS.get(self.action, self.action))

    @property
    def record_type(self) -> str:
        return str(self.model._meta.verbose_name)

    @property
    def record_key(self) -> str:
        return self.model._meta.label_lower


def record_types() -> list[tuple[str, type[models.Model], type[models.Model]]]:
    """(key, base model, history model) for every audited model, sorted by label."""
    out = []
    for hm in history_models():
        base = hm.instance_type  # type: ignore[attr-defined]
        out.append((base._meta.label_lower, base, hm))
    return sorted(out, key=lambda t: str(t[1]._meta.verbose_name))


def history_model_for(key: str) -> tuple[type[models.Model], type[models.Model]] | None:
    try:
        base = apps.get_model(key)
    except (LookupError, ValueError):
        return None
    manager = getattr(base, "history", None)
    if manager is None or not hasattr(manager, "model"):
        return None
    return base, manager.model


# Per language: a field's choices as {value: label} (the CSV export shows thousands of values).
_CHOICES: dict[tuple[models.Field, str | None], dict[Any, str]] = {}


def _choices(f: models.Field) -> dict[Any, str]:
    key = (f, get_language())
    found = _CHOICES.get(key)
    if found is None:
        found = _CHOICES[key] = {value: str(label) for value, label in f.flatchoices}
    return found


def _display(f: models.Field, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if f.choices:
        label = _choices(f).get(value)
        return label if label is not None else str(value)
    if isinstance(f, models.BooleanField):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, datetime):
        # "UTC+08:00", never "CST" (which also reads as US Central time; issue 7).
        from core.templatetags.core_tags import local_dt

        return local_dt(value)
    return str(value)


@dataclass(frozen=True)
class _Compared:
    """A field of a history table that a change shows (the record's own fields), with what
    showing it needs, worked out once per table and language."""

    field: models.Field
    name: str
    attname: str
    label: str
    related_model: type[models.Model] | None


_PLANS: dict[tuple[type[models.Model], str | None], list[_Compared]] = {}


def _compared_fields(hm: type[models.Model]) -> list[_Compared]:
    key = (hm, get_language())
    plan = _PLANS.get(key)
    if plan is None:
        base_pk = hm.instance_type._meta.pk.attname  # type: ignore[attr-defined]
        plan = _PLANS[key] = [
            _Compared(
                f,
                f.name,
                f.attname,
                capfirst(str(f.verbose_name)),
                f.related_model if f.is_relation and not f.many_to_many else None,
            )
            for f in hm._meta.concrete_fields
            if not (f.name in _HISTORY_FIELDS or f.primary_key or f.attname == base_pk)
        ]
    return plan


def diff(new: models.Model, old: models.Model | None) -> list[FieldChange]:
    """Field-by-field old → new (for a creation: every field that has a value)."""
    plan = _compared_fields(type(new))
    return _diff_values(
        plan,
        [getattr(new, c.attname) for c in plan],
        [getattr(old, c.attname) for c in plan] if old is not None else None,
    )


def _diff_values(plan: list[_Compared], new: Sequence[Any], old: Sequence[Any] | None) -> list[FieldChange]:
    """``diff`` over the compared fields' values, in ``plan``'s order (no model instances)."""
    changes = []
    for c, new_value, old_value in zip(plan, new, old if old is not None else repeat(None), strict=False):
        if old is not None and new_value == old_value:
            continue
        if old is None and new_value in (None, ""):
            continue
        changes.append(
            FieldChange(
                c.name,
                c.label,
                _display(c.field, old_value) if old is not None else "",
                _display(c.field, new_value),
                related_model=c.related_model,
                old_raw=old_value,
                new_raw=new_value,
            )
        )
    return changes


def _related_label(obj: models.Model) -> str:
    printed = getattr(obj, "printed_name", None)
    if printed is not None:
        return f"{printed} ({obj.get_username()})" if hasattr(obj, "get_username") else str(printed)
    return str(obj)


def _resolve_relations(
    entries: list[AuditEntry],
    also: dict[type[models.Model], set[Any]] | None = None,
    known: Iterable[models.Model] = (),
) -> dict[type[models.Model], dict[Any, models.Model]]:
    """Show related records by name, not id: at most one query per related model for the whole
    page. ``also``: more ids to read with them (the people who made the changes); ``known``: rows
    the caller read in this request (the record and its links), not read again. Returns what was
    found, by model."""
    wanted: dict[type[models.Model], set[Any]] = {model: set(ids) for model, ids in (also or {}).items()}
    for e in entries:
        for c in e.changes:
            if c.related_model is not None:
                wanted.setdefault(c.related_model, set()).update(v for v in (c.old_raw, c.new_raw) if v is not None)
    found: dict[type[models.Model], dict[Any, models.Model]] = {}
    for obj in known:
        if obj is not None and type(obj) in wanted and obj.pk in wanted[type(obj)]:
            found.setdefault(type(obj), {})[obj.pk] = obj
    for model, ids in wanted.items():
        missing = ids - found.get(model, {}).keys()
        if missing:
            # The links the model's name is made of (LABEL_RELATED) in the same query.
            # (Not select_related() with no names: that would join every non-null link.)
            queryset = model._base_manager.all()
            if links := getattr(model, "LABEL_RELATED", ()):
                queryset = queryset.select_related(*links)
            found.setdefault(model, {}).update(queryset.in_bulk(missing))
    for e in entries:
        for c in e.changes:
            if c.related_model is None:
                continue
            objs = found.get(c.related_model, {})
            if c.old_raw is not None and c.old_raw in objs:
                c.old = _related_label(objs[c.old_raw])
            if c.new_raw is not None and c.new_raw in objs:
                c.new = _related_label(objs[c.new_raw])
    return found


def _label(base: type[models.Model], row: models.Model, pk_name: str) -> str:
    # A field of the row itself, never str(instance): that could query related rows per entry.
    label_field = getattr(base, "AUDIT_LABEL_FIELD", None)
    value = getattr(row, label_field, None) if label_field else None
    return f"{value} (#{getattr(row, pk_name)})" if value else f"#{getattr(row, pk_name)}"


def _with_previous(qs: models.QuerySet) -> models.QuerySet:
    hm = qs.model
    pk_name = hm.instance_type._meta.pk.attname  # type: ignore[attr-defined]
    prev = (
        hm.objects.filter(**{pk_name: OuterRef(pk_name)})
        .filter(
            models.Q(history_date__lt=OuterRef("history_date"))
            | models.Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    return qs.annotate(prev_history_id=Subquery(prev))


def _entries(rows: list[models.Model]) -> list[AuditEntry]:
    """Turn history rows of one model into entries: 2 more queries (predecessors, users)."""
    if not rows:
        return []
    hm = type(rows[0])
    base = hm.instance_type  # type: ignore[attr-defined]
    pk_name = base._meta.pk.attname
    prev_ids = [r.prev_history_id for r in rows if getattr(r, "prev_history_id", None)]
    # A predecessor among the rows already read (a record's whole timeline) is not read again.
    prevs = {r.history_id: r for r in rows}
    missing = [pk for pk in prev_ids if pk not in prevs]
    if missing:
        prevs.update(hm.objects.in_bulk(missing, field_name="history_id"))
    out = []
    for r in rows:
        old = prevs.get(getattr(r, "prev_history_id", None))
        out.append(
            AuditEntry(
                when=r.history_date,
                user_id=r.history_user_id,
                model=base,
                object_id=getattr(r, pk_name),
                record_label=_label(base, r, pk_name),
                action=r.history_type,
                reason=r.history_change_reason or "",
                changes=diff(r, old),
            )
        )
    return out


def _attach_users(entries: list[AuditEntry], known: Iterable[models.Model] = ()) -> list[AuditEntry]:
    user_model = get_user_model()
    ids = {e.user_id for e in entries if e.user_id}
    # The people read with the users the changes name (created_by, …): one query for both.
    users = _resolve_relations(entries, also={user_model: ids}, known=known).get(user_model, {})
    for e in entries:
        u = users.get(e.user_id)
        if u is not None:
            e.username, e.printed_name = u.username, u.printed_name
    return entries


def record_timeline(
    base: type[models.Model],
    pk: Any,
    known: Iterable[models.Model] = (),
    where: Callable[[AuditEntry], bool] | None = None,
) -> list[AuditEntry]:
    """Every change of one record, oldest first. ``known``: rows the caller has read in this
    request (e.g. the record's product), not read again to name them. ``where``: keep only the
    entries it accepts, chosen before the people and linked records are read (none kept: no query)."""
    hm = base.history.model  # type: ignore[attr-defined]
    rows = list(_with_previous(hm.objects.filter(**{base._meta.pk.attname: pk})).order_by("history_date", "history_id"))
    entries = _entries(rows)
    if where is not None:
        entries = [e for e in entries if where(e)]
    return _attach_users(entries, known=known)


@dataclass
class SearchFilter:
    record_key: str = ""
    user_id: int | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None  # exclusive

    def apply(self, qs: models.QuerySet) -> models.QuerySet:
        if self.user_id:
            qs = qs.filter(history_user_id=self.user_id)
        if self.date_from:
            qs = qs.filter(history_date__gte=self.date_from)
        if self.date_to:
            qs = qs.filter(history_date__lt=self.date_to)
        return qs


def _selected_models(flt: SearchFilter) -> list[type[models.Model]]:
    if flt.record_key:
        found = history_model_for(flt.record_key)
        return [found[1]] if found else []
    return [hm for _k, _b, hm in record_types()]


@dataclass(frozen=True)
class Cursor:
    """Where a page of the global search ends: the last entry shown (keyset paging, issue 12).

    The search is ordered newest first by (time, record type key, history id); the next page is
    everything strictly after the cursor in that order, so each history table is asked for at
    most ``per_page + 1`` rows through its ``history_date`` index, at any depth.
    """

    when: datetime
    key: str
    history_id: int

    def encode(self) -> str:
        return f"{self.when.isoformat()}~{self.key}~{self.history_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor in a link, or None for a missing or tampered one (the first page is shown)."""
        try:
            when, key, hid = (text or "").split("~")
            parsed = datetime.fromisoformat(when)
            if parsed.tzinfo is None or history_model_for(key) is None:
                return None
            return cls(parsed, key, int(hid))
        except (ValueError, TypeError, OverflowError):
            return None


def _after(qs: models.QuerySet, key: str, cursor: Cursor | None) -> models.QuerySet:
    """Rows of one history table that come after ``cursor`` (newest first, ties by key then id)."""
    if cursor is None:
        return qs
    if key < cursor.key:
        return qs.filter(history_date__lte=cursor.when)
    if key > cursor.key:
        return qs.filter(history_date__lt=cursor.when)
    # "Before the cursor's time, or at it with a smaller id", written as a range on the time (which
    # the history_date index serves) and the tie-break as a filter on the rows of that range: the
    # OR alone would let PostgreSQL sort every older row of the table.
    return qs.filter(history_date__lte=cursor.when).filter(
        models.Q(history_date__lt=cursor.when) | models.Q(history_id__lt=cursor.history_id)
    )


def _selected(flt: SearchFilter) -> list[tuple[str, type[models.Model]]]:
    return [(hm.instance_type._meta.label_lower, hm) for hm in _selected_models(flt)]  # type: ignore[attr-defined]


def _heads(flt: SearchFilter, cursor: Cursor | None, need: int) -> list[tuple[datetime, str, int]]:
    """The newest ``need`` (time, key, history id) after the cursor from every selected table.

    On PostgreSQL one query: a UNION ALL of per-table ``ORDER BY … LIMIT need`` subqueries, each
    served by the table's history_date index (or (user, date) / (record, date) when filtered),
    materialized, and the newest ``need`` of it chosen by the database. SQLite cannot LIMIT inside
    a compound query, so there it is one query per table.

    Not a plain ``ORDER BY … LIMIT`` over the union of the tables without the per-table limits
    (measured at 17.6 million history rows, issue 12): PostgreSQL merges the tables' indexes for
    the first page (~3 ms instead of ~14), but past a cursor, or for one person's changes, it chose
    to sort every row (10 s, 12 s). The MATERIALIZED union keeps each table's limit (6 ms). So the
    first page without a person uses the merge, every other search the per-table limits.
    """
    from django.db import connection

    selected = _selected(flt)
    if connection.vendor == "postgresql" and len(selected) > 1:
        rows = _heads_sql(flt, cursor, need, selected)
    else:
        rows = [
            row
            for key, hm in selected
            for row in _after(flt.apply(hm.objects.all()), key, cursor)
            .order_by("-history_date", "-history_id")
            .annotate(k=models.Value(key, output_field=models.CharField()))
            .values_list("history_date", "k", "history_id")[:need]
        ]
    rows.sort(key=lambda t: (t[0], t[1], t[2]), reverse=True)
    return rows[:need]


def _heads_sql(
    flt: SearchFilter, cursor: Cursor | None, need: int, selected: list[tuple[str, type[models.Model]]]
) -> list[tuple[datetime, str, int]]:
    """``_heads`` on PostgreSQL: the same conditions as ``SearchFilter.apply`` and ``_after``
    written out once for the ~50 history tables (compiling 50 querysets cost ~15 ms a page, three
    times the query itself; issue 12). Every history table has the same three columns."""
    from django.db import connection

    qn = connection.ops.quote_name
    # The first page of everyone's changes (the page an auditor opens): a plain ORDER BY … LIMIT
    # over the union, which PostgreSQL answers by merging the tables' history_date indexes and
    # reading ~``need`` rows in all (at scale 1.0: 1.2 ms of execution against 8.7 for the
    # materialized union, which starts ~50 index scans and sorts their ~1,600 rows; issue 12).
    # Past a cursor or for one person, the merge is the plan PostgreSQL got wrong (see _heads).
    merged = cursor is None and not flt.user_id
    common, common_params = [], []
    if flt.user_id:
        common.append("history_user_id = %s")
        common_params.append(flt.user_id)
    if flt.date_from:
        common.append("history_date >= %s")
        common_params.append(flt.date_from)
    if flt.date_to:
        common.append("history_date < %s")
        common_params.append(flt.date_to)
    parts, params = [], []
    for key, hm in selected:
        conditions, part_params = list(common), list(common_params)
        if cursor is not None:
            if key < cursor.key:
                conditions.append("history_date <= %s")
                part_params.append(cursor.when)
            elif key > cursor.key:
                conditions.append("history_date < %s")
                part_params.append(cursor.when)
            else:
                conditions.append("history_date <= %s AND (history_date < %s OR history_id < %s)")
                part_params += [cursor.when, cursor.when, cursor.history_id]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        select = f"SELECT history_date, %s::text AS k, history_id FROM {qn(hm._meta.db_table)}{where}"  # noqa: S608
        if merged:
            parts.append(select)
            params += [key, *part_params]
        else:
            parts.append(f"({select} ORDER BY history_date DESC, history_id DESC LIMIT %s)")
            params += [key, *part_params, need]
    # The newest ``need`` of the union are chosen in the database: fetching every table's ``need``
    # rows (~2,600) and converting their times cost ~10 ms a page. MATERIALIZED keeps each table's
    # own ORDER BY … LIMIT (the outer ORDER BY is never pushed into the tables, see _heads); the key
    # is ordered by code point (COLLATE "C"), as Python compares it for the cursor.
    union = " UNION ALL ".join(parts)
    head = (
        f"SELECT history_date, k, history_id FROM ({union}) AS heads"
        if merged
        else f"WITH heads AS MATERIALIZED ({union}) SELECT history_date, k, history_id FROM heads"
    )
    sql = f'{head} ORDER BY history_date DESC, k COLLATE "C" DESC, history_id DESC LIMIT %s'
    with connection.cursor() as db:
        db.execute(sql, [*params, need])
        return [tuple(row) for row in db.fetchall()]


def search_page(
    flt: SearchFilter, cursor: Cursor | None = None, per_page: int = 50
) -> tuple[list[AuditEntry], Cursor | None]:
    """One page of changes, newest first, after ``cursor``; and the cursor of the next page (None
    on the last page).

    A fixed number of queries whatever the depth or the table sizes: one for the newest rows of
    every record type (PostgreSQL), then per record type on the page its rows with predecessors,
    and the users and related names of the whole page.
    """
    heads = _heads(flt, cursor, per_page + 1)
    more = len(heads) > per_page
    heads = heads[:per_page]
    by_key: dict[str, list[int]] = {}
    for _d, key, hid in heads:
        by_key.setdefault(key, []).append(hid)
    entries: dict[tuple[str, int], AuditEntry] = {}
    for key, ids in by_key.items():
        found = history_model_for(key)
        if found is None:
            continue
        hm = found[1]
        pk_name = hm.instance_type._meta.pk.attname  # type: ignore[attr-defined]
        columns = (*_ROW_HEAD, pk_name, *(c.attname for c in _compared_fields(hm)))
        rows = list(_with_previous(hm.objects.filter(history_id__in=ids)).values_list(*columns))
        for row, entry in zip(rows, _value_entries(hm, rows), strict=True):
            entries[(key, row[0])] = entry
    ordered = [entries[(key, hid)] for _d, key, hid in heads if (key, hid) in entries]
    next_cursor = Cursor(*heads[-1]) if more and heads else None
    return _attach_users(ordered), next_cursor


def _value_entries(hm: type[models.Model], rows: list[tuple]) -> list[AuditEntry]:
    """``_entries`` for rows read as tuples (``_ROW_HEAD`` + the compared fields): no model
    instance per row, the field list worked out once per table (the CSV export, issue 12). One
    query for the predecessors that are not among ``rows``, none when all are."""
    if not rows:
        return []
    base = hm.instance_type  # type: ignore[attr-defined]
    plan = _compared_fields(hm)
    width = len(_ROW_HEAD)
    label_field = getattr(base, "AUDIT_LABEL_FIELD", None)
    label_at = next((width + 1 + i for i, c in enumerate(plan) if label_field in (c.attname, c.name)), None)
    # A label that is a link (a material used is named by its lot): the linked rows, one query.
    label_link = next((c.related_model for c in plan if c.name == label_field and c.related_model), None)
    linked = (
        label_link._base_manager.in_bulk({row[label_at] for row in rows if row[label_at] is not None})
        if label_link is not None and label_at is not None
        else None
    )
    prevs: dict[int, tuple] = {row[0]: row for row in rows}
    missing = [row[5] for row in rows if row[5] and row[5] not in prevs]
    if missing:
        pk_name = base._meta.pk.attname
        for row in hm.objects.filter(history_id__in=missing).values_list(
            *_ROW_HEAD[:5], pk_name, *(c.attname for c in plan)
        ):
            prevs[row[0]] = row[:5] + (None,) + row[5:]
    out = []
    for row in rows:
        history_id, when, user_id, action, reason, prev_id, object_id = row[:7]
        old = prevs.get(prev_id) if prev_id else None
        value = row[label_at] if label_at is not None else None
        if linked is not None:
            value = linked.get(value)
        out.append(
            AuditEntry(
                when=when,
                user_id=user_id,
                model=base,
                object_id=object_id,
                record_label=f"{value} (#{object_id})" if value else f"#{object_id}",
                action=action,
                reason=reason or "",
                changes=_diff_values(plan, row[width + 1 :], old[width + 1 :] if old is not None else None),
            )
        )
    return out


# The columns read before a history row's compared fields: then its record's id, then the fields.
_ROW_HEAD = (
    "history_id",
    "history_date",
    "history_user_id",
    "history_type",
    "history_change_reason",
    "prev_history_id",
)


def iter_search(flt: SearchFilter, chunk: int = 1000) -> Iterator[AuditEntry]:
    """Every matching change, newest first, for CSV export (memory bounded by ``chunk``).

    Per chunk of ``chunk`` rows of one history table: one query for the rows (as tuples, with
    their predecessor's id), at most one for predecessors older than the chunk; per ``chunk``
    entries of all tables together, one per kind of record the changes name (the people with
    them). A table with fewer rows than a chunk is asked once."""

    def per_model(hm: type[models.Model]) -> Iterator[tuple[datetime, int, AuditEntry]]:
        pk_name = hm.instance_type._meta.pk.attname  # type: ignore[attr-defined]
        columns = (*_ROW_HEAD, pk_name, *(c.attname for c in _compared_fields(hm)))
        qs = _with_previous(flt.apply(hm.objects.all())).order_by("-history_date", "-history_id")
        last = None
        while True:
            page_qs = qs
            if last is not None:
                d, hid = last
                page_qs = qs.filter(models.Q(history_date__lt=d) | models.Q(history_date=d, history_id__lt=hid))
            rows = list(page_qs.values_list(*columns)[:chunk])
            if not rows:
                return
            for row, entry in zip(rows, _value_entries(hm, rows), strict=True):
                yield (row[1], row[0], entry)
            if len(rows) < chunk:
                return
            last = (rows[-1][1], rows[-1][0])

    streams: Iterable = [per_model(hm) for hm in _selected_models(flt)]
    # People and linked records are named for ``chunk`` entries of every table at once, in time
    # order: one query per kind of record for the lot, not per table and chunk.
    pending: list[AuditEntry] = []
    for _d, _hid, entry in heapq.merge(*streams, key=lambda t: (t[0], t[1]), reverse=True):
        pending.append(entry)
        if len(pending) >= chunk:
            yield from _attach_users(pending)
            pending = []
    yield from _attach_users(pending)
