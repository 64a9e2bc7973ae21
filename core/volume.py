"""Ten years of data for benchmarks (issue 12): multiply the demo's records inside PostgreSQL.

``manage.py generate_volume --scale 1.0`` (after ``migrate`` and ``seed_demo`` on an empty,
scratch PostgreSQL database) fills the database with a plant's ten-year volume: 2,000 products,
100,000 batches and release reviews, 460,000 samples and test records, 4.7 million results,
1,000,000 shipments, 20,000 material lots and 400,000 uses of them, 3,000 deviations (each
naming a batch), 100 QP designations, 5,000 customer visits, 60 recalls with their batches and
consignees, the other records in proportion, one history row per record plus its
changes (about 14.6 million history rows), and keyed, chained signatures.

How it stays valid without going through the services one record at a time
--------------------------------------------------------------------------
The demo seed creates every kind of record through the real services (so every template row
passes the services' rules, check constraints and state machine). Each generated row is a copy of
one of those template rows made by PostgreSQL itself, ``INSERT INTO t (...) SELECT ... FROM
generate_series(...)`` — the server-side equivalent of COPY, with no rows crossing the wire:

- the primary key comes from the table's identity sequence;
- a copy's *parent* (its first foreign key in ``PLAN``) is spread over the generated parents
  (``g % parents``), and the template is chosen among the *siblings of one parent* in the demo
  (``(g // parents) % templates``), so per-parent unique constraints (result per record/item/
  attempt, instrument use once per record, one review per batch) hold by construction;
- a release review's steps follow its state (``Spec.like_parent``): each generated review gets
  copies of the steps of the demo's review in the same state, so a released review has its
  production, QC, QA, stamp and QP release steps and the QP's certificate;
- other foreign keys to generated tables are spread over those tables, or derived from the
  parent (a sample's product is its batch's product);
- a plant's records are mostly settled: copies older than the newest 1% take only the demo's
  templates in a settled state (``SETTLED``: batches and reviews decided, lots released,
  complaints closed…), so My work's queues hold what a plant has waiting;
- unique text columns (numbers, codes, batch numbers) get a ``-V<g>`` suffix;
- every date and time column is moved back by the same number of days, so a copy spans the ten
  years while keeping its own order (manufacture < expiry, created < approved).

History rows are INSERTed into the simple-history tables (one "created" row per generated
record plus ``changes`` "changed" rows per record); the append-only triggers only refuse UPDATE
and DELETE, and they stay on. ``QuerySet.bulk_create`` is refused by the audited managers on
purpose; generated data is INSERT-only, so like ``benchmarks/verify_integrity.py`` the
signatures are written through ``Signature._base_manager.bulk_create`` with the real keyed
hash and chain (``core.signatures.sign`` computes the same), so ``verify_integrity`` passes.

Documents (``core.Document``) are issued last: for each kind the demo issued (a test report for an
approved test record, a release certificate or non-conformity report for a QP's step…), every
record in the state of the demo's record (same status, stage, decision) that has no document of
that kind gets the demo's document copied: its own record id, number (``-V<id>``), issue date
and verification code, and the same stored PDF (so its SHA-256 still matches the file, and
``verify_integrity`` reads as many files as a plant would have). ``generate_volume --documents``
adds them to a database generated before this step existed.

Tables an app derives from the audit trail and signatures (who tested a test record:
``qc_records.testers``) are filled after the history rows and signatures, by the function the app
registers with ``register_derived``, the same one its migration and ``verify_integrity`` use.
States an app stores on a row from other records (a sample's "waiting", a customer's last
approved visit) are set on the generated rows before the history rows, by the function the app
registers with ``register_stored_state``; ``verify_integrity`` compares them with the records they
come from (``qc_records.stored_states``, ``aftersales.stored_states``). Only rows generated in the
same run are set: ``--only qc_records.TestRecord`` spreads records over existing samples and
leaves their stored state as it was, which ``verify_integrity`` then reports.

Not generated: the rows of models with no demo template (a mock recall's batches, recovered
goods, review corrections).

Not claimed: cross-record business consistency beyond the parent (a generated record's results
come from a template record of another specification's items; a shipment's batch may be in
quarantine). It is data to measure pages and plans with, never to demonstrate a workflow; the
command refuses to run unless DEBUG is on or ``--i-know-this-is-scratch`` is given, and never
on SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models, transaction

DAYS = 3650
CHUNK = 200_000

# (name, fill) of tables an app derives from history rows and signatures: fill() adds what is
# missing and returns how many rows it added. Apps register them (core does not import apps).
_derived: list[tuple[str, Callable[[], int]]] = []


def register_derived(name: str, fill: Callable[[], int]) -> None:
    if (name, fill) not in _derived:
        _derived.append((name, fill))


# (model label, fill) of states an app stores on a row from other records (a sample's "waiting",
# a customer's last approved visit): fill(lo, hi) sets them for the rows with ids lo..hi, as the
# app's services would have, and returns how many rows it changed. Run on the generated rows of
# that model before the history rows copy them.
_stored_states: list[tuple[str, Callable[[int, int], int]]] = []


def register_stored_state(label: str, fill: Callable[[int, int], int]) -> None:
    if (label, fill) not in _stored_states:
        _stored_states.append((label, fill))


@dataclass
class Spec:
    label: str
    count: int  # rows at scale 1.0
    parent: str | None = None  # first foreign key: spread over the generated parents
    derive: dict[str, tuple[str, str]] = field(default_factory=dict)  # column: (fk field, column of its row)
    changes: int = 1  # "changed" history rows per generated row, besides the "created" one
    days: int = 3650  # the copies' dates are spread over this many days back from the template's
    # A column of the parent: each generated parent gets copies of the children of the demo parent
    # with the same value there (a released review the steps of the demo's released review), moved
    # in time with it; ``count`` is then only the expected figure (see Generator.copy_like_parent).
    like_parent: str = ""
    # Date columns that keep the template's distance to a date of its parent ({column: parent's
    # column}): an instrument's calibration due date stays as far after its record's test date as in
    # the demo, instead of moving in time apart from the record (which made every other generated
    # record look tested with an instrument past calibration).
    align: dict[str, str] = field(default_factory=dict)


# Proportions of a large site over ten years (issue 12's table), parents before children.
PLAN: list[Spec] = [
    Spec("release.Product", 2_000, changes=2),
    Spec("release.MaterialLot", 20_000, changes=2),
    Spec("release.QPDesignation", 100, changes=1),
    Spec("qc_records.Instrument", 300, changes=6),
    Spec("qc_records.Reagent", 1_000, changes=1),
    Spec("qc_records.Specification", 2_000, parent="product", changes=2),
    Spec("qc_records.SpecificationItem", 20_000, parent="specification", changes=0),
    Spec("release.Batch", 100_000, parent="product", changes=3),
    Spec("release.ReleaseReview", 100_000, parent="batch", changes=5),
    # A review's steps are those of the demo's review in the same state (production, QC, QA, QP's
    # release and the stamp for a released one): a page of a decided review shows its decision.
    Spec("release.ReviewStep", 450_000, parent="review", changes=0, like_parent="status"),
    Spec("release.BatchHold", 2_000, parent="batch", changes=1),
    Spec("release.BatchMaterial", 400_000, parent="batch", changes=0),
    Spec("release.Deviation", 3_000, changes=3),
    Spec("release.Deviation_batches", 3_000, parent="deviation", changes=0),
    Spec("qc_records.Sample", 460_000, parent="batch", derive={"product": ("batch", "product_id")}, changes=2),
    Spec("qc_records.TestRecord", 460_000, parent="sample", changes=5),
    Spec("qc_records.TestResult", 4_700_000, parent="record", changes=1),
    Spec("qc_records.InstrumentUse", 900_000, parent="record", changes=0, align={"calibration_due": "test_date"}),
    Spec("qc_records.ReagentUse", 700_000, parent="record", changes=0, align={"expiry_date": "test_date"}),
    Spec("qc_records.OOSInvestigation", 2_000, parent="record", changes=4),
    Spec("aftersales.Customer", 5_000, changes=3),
    Spec("aftersales.CustomerLicence", 8_000, parent="customer", changes=1),
    Spec("aftersales.Feedback", 6_000, changes=2),
    Spec("aftersales.Complaint", 2_000, parent="feedback", changes=4),
    Spec("aftersales.ADRCase", 1_500, parent="feedback", changes=4),
    Spec("aftersales.Shipment", 1_000_000, parent="batch", derive={"product": ("batch", "product_id")}, changes=0),
    Spec("aftersales.GoodsReturn", 1_500, parent="customer", changes=3),
    Spec("aftersales.CustomerVisit", 5_000, parent="customer", changes=2),
    # The demo's only recall is in progress, so every copy is: spread over the last 90 days (a
    # recall runs weeks to months), not ten years, which would leave each in progress for years
    # with thousands of missed daily progress reports.
    Spec("recalls.RecallInformation", 100, changes=2, days=90),
    Spec("recalls.Recall", 60, parent="information", changes=4, days=90),
    Spec("recalls.RecallBatch", 120, parent="recall", changes=0, days=90),
    Spec("recalls.RecallConsignee", 3_000, parent="recall", changes=1, days=90),
]

# A plant's records are mostly settled: batches and reviews decided, lots released, complaints
# closed. Copies older than the newest RECENT share take only the demo's templates in a settled
# state (the newest take any), so the queues of My work hold what a plant has waiting, not one
# copy in eight of 100,000 (issue 12). A model whose demo has no settled template is copied from
# every template.
RECENT = 0.01
SETTLED: dict[str, tuple[str, tuple[str, ...]]] = {
    "release.Product": ("status", ("approved",)),
    "release.MaterialLot": ("status", ("released",)),
    "release.Batch": ("status", ("released", "factory_released", "rejected")),
    "release.ReleaseReview": ("status", ("released", "rejected")),
    "aftersales.Customer": ("status", ("qualified",)),
    "aftersales.Feedback": ("status", ("closed",)),
    "aftersales.Complaint": ("status", ("closed",)),
    "aftersales.ADRCase": ("status", ("reported",)),
    "aftersales.CustomerVisit": ("status", ("approved",)),
}

# The columns whose values tell a record's state: a document is issued for the records in the
# state of the demo record that has one.
STATE_COLUMNS = ("status", "stage", "decision")

# Signatures per generated record (about 1.5 million at scale 1.0), with the meanings the demo used on that model.
SIGNATURES_PER_RECORD = {
    "release.ReviewStep": 1,
    "qc_records.TestRecord": 2,
    "release.Batch": 1,
    "release.Product": 1,
    "qc_records.Specification": 1,
    "aftersales.Customer": 2,
}


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _unique_text_columns(model: type[models.Model]) -> set[str]:
    names: set[str] = set()
    for f in model._meta.concrete_fields:
        if f.unique and not f.primary_key and isinstance(f, models.CharField):
            names.add(f.name)
    for c in model._meta.constraints:
        if isinstance(c, models.UniqueConstraint):
            names.update(c.fields)
            for e in c.expressions:
                names.update(part.split(")")[0] for part in str(e).split("F(")[1:])
    for group in model._meta.unique_together:
        names.update(group)
    return {
        model._meta.get_field(n).column
        for n in names
        if isinstance(model._meta.get_field(n), models.CharField) and not model._meta.get_field(n).choices
    }


class VolumeError(Exception):
    pass


class Generator:
    def __init__(
        self,
        *,
        scale: float,
        out: Callable[[str], None] = print,
        only: set[str] | None = None,
        scales: dict[str, float] | None = None,
    ):
        if connection.vendor != "postgresql":
            raise VolumeError("generate_volume needs PostgreSQL (it uses generate_series and INSERT … SELECT).")
        self.scale = scale
        self.out = out
        self.only = only
        self.scales = scales or {}  # per model label: a scale other than ``scale``
        # label -> (first generated id, last generated id); only generated rows are parents.
        self.generated: dict[str, tuple[int, int]] = {}

    # -- rows -------------------------------------------------------------------------------------
    def run(self) -> None:
        started = time.perf_counter()
        for spec in PLAN:
            if self.only and spec.label not in self.only:
                continue
            self.copy_like_parent(spec) if spec.like_parent else self.copy(spec)
        self.stored_states()
        self.history()
        self.signatures()
        self.derived()
        self.documents()
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        self.out(f"done in {time.perf_counter() - started:.0f} s")

    def _pool(self, model: type[models.Model]) -> tuple[int, int, bool]:
        """(first id, count, contiguous) of the rows a foreign key to ``model`` is spread over."""
        label = model._meta.label
        if label in self.generated:
            lo, hi = self.generated[label]
            return lo, hi - lo + 1, True
        with connection.cursor() as cur:
            cur.execute(f"SELECT min(id), count(*) FROM {qn(model._meta.db_table)}")  # noqa: S608
            lo, n = cur.fetchone()
        return lo or 0, n, False

    def copy(self, spec: Spec) -> None:
        model = apps.get_model(spec.label)
        table = model._meta.db_table
        n = max(1, int(spec.count * self.scales.get(spec.label, self.scale)))
        parent_field = model._meta.get_field(spec.parent) if spec.parent else None
        templates = model._base_manager.order_by("pk")
        parent_lo, parent_n = 0, 1
        unique_text = _unique_text_columns(model)
        # Columns unique together with the parent (a result's item, replicate and attempt): kept as
        # in the template, and the templates are the siblings of one demo parent.
        together: set[str] = set()
        if parent_field is not None:
            for c in model._meta.constraints:
                if isinstance(c, models.UniqueConstraint) and parent_field.name in c.fields:
                    others = {model._meta.get_field(x).column for x in c.fields if x != parent_field.name}
                    if not others & unique_text:
                        together |= set(c.fields) - {parent_field.name}
        if parent_field is not None:
            parent_model = parent_field.related_model
            if parent_model._meta.label not in self.generated:
                raise VolumeError(f"{spec.label}: generate {parent_model._meta.label} first")
            parent_lo, parent_n, _c = self._pool(parent_model)
            # The siblings of the demo parent with the most children: unique per parent among themselves.
            top = (
                templates.values(parent_field.attname)
                .annotate(c=models.Count("pk"))
                .order_by("-c", parent_field.attname)
                .first()
            )
            if top is None:
                self.out(f"{spec.label}: no demo row to copy, skipped")
                return
            if parent_field.one_to_one or parent_field.unique:
                n = min(n, parent_n)
            elif together:
                templates = templates.filter(**{parent_field.attname: top[parent_field.attname]})
        template_ids = list(templates.values_list("pk", flat=True))
        if not template_ids:
            self.out(f"{spec.label}: no demo row to copy, skipped")
            return
        if together:
            n = min(n, parent_n * len(template_ids))
        cols: list[str] = []
        exprs: list[str] = []
        for f in model._meta.concrete_fields:
            if f.primary_key:
                continue
            col = f.column
            src = f"t.{qn(col)}"
            if parent_field is not None and f.name == parent_field.name:
                expr = f"{parent_lo} + (g % {parent_n})"
            elif f.name in spec.derive:
                via, column = spec.derive[f.name]
                via_field = model._meta.get_field(via)
                expr = (
                    f"(SELECT p.{qn(column)} FROM {qn(via_field.related_model._meta.db_table)} p "  # noqa: S608
                    f"WHERE p.id = {parent_lo} + (g % {parent_n}))"
                )
            elif (
                f.is_relation
                and f.name not in together
                and f.related_model is not None
                and f.related_model._meta.label in self.generated
            ):
                lo, cnt, _c = self._pool(f.related_model)
                expr = f"CASE WHEN {src} IS NULL THEN NULL ELSE {lo} + ((g * 7919) % {cnt}) END"
                if f.unique:
                    expr = f"CASE WHEN {src} IS NULL THEN NULL ELSE {lo} + (g % {cnt}) END"
            elif col in unique_text:
                keep = max(1, f.max_length - 10)
                expr = f"CASE WHEN {src} = '' THEN '' ELSE left({src}, {keep}) || '-V' || g::text END"
            elif isinstance(f, models.DateTimeField):
                expr = f"{src} - make_interval(days => (({n} - g::bigint) * {spec.days} / {n})::int)"
            elif isinstance(f, models.DateField):
                expr = f"{src} - (({n} - g::bigint) * {spec.days} / {n})::int"
            else:
                expr = src
            if f.name in spec.align:
                expr = self._aligned(spec, f, expr, src, parent_field, parent_lo, parent_n)
            cols.append(qn(col))
            exprs.append(expr)
        # Siblings of one parent take the templates in turn per parent (g // parents); a record
        # that is its parent's only child (a batch's release review) takes them in turn by row,
        # else every copy would be the first template (every review in its first state).
        one_per_parent = parent_field is not None and (parent_field.one_to_one or parent_field.unique)

        def pick(ids: list[int]) -> str:
            array = "ARRAY[" + ",".join(str(i) for i in ids) + "]::bigint[]"
            index = (
                f"((g / {parent_n}) % {len(ids)})"
                if parent_field is not None and not one_per_parent
                else f"(g % {len(ids)})"
            )
            return f"({array})[1 + {index}]"

        template_pick = pick(template_ids)
        # Older copies are settled (SETTLED): only the newest RECENT share may be in any state.
        settled = SETTLED.get(spec.label)
        if settled is not None and not together:
            column, values = settled
            settled_ids = list(templates.filter(**{f"{column}__in": values}).values_list("pk", flat=True))
            if settled_ids:
                recent = max(1, int(n * RECENT))
                template_pick = f"CASE WHEN g < {n - recent} THEN {pick(settled_ids)} ELSE {template_pick} END"
        started = time.perf_counter()
        first = last = None
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK) - 1
            sql = (
                f"INSERT INTO {qn(table)} ({', '.join(cols)}) "  # noqa: S608
                f"SELECT {', '.join(exprs)} FROM generate_series({lo}::bigint, {hi}::bigint) AS g "
                f"JOIN {qn(table)} t ON t.id = {template_pick} "
                f"ORDER BY g RETURNING id"
            )
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(
                    f"WITH ins AS ({sql}) SELECT min(id), max(id), count(*) FROM ins"  # noqa: S608
                )
                a, b, c = cur.fetchone()
            if c != hi - lo + 1:
                raise VolumeError(f"{spec.label}: inserted {c} rows, expected {hi - lo + 1}")
            first = a if first is None else first
            last = b
        if last - first + 1 != n:
            raise VolumeError(f"{spec.label}: generated ids are not contiguous ({first}..{last} for {n} rows)")
        self.generated[spec.label] = (first, last)
        self.out(f"{spec.label}: {n:,} rows in {time.perf_counter() - started:.1f} s")

    @staticmethod
    def _aligned(
        spec: Spec, f: models.Field, shifted: str, src: str, parent_field, parent_lo: int, parent_n: int
    ) -> str:
        """The SQL of date column ``f`` of a copy: its parent's date (``spec.align``) plus the
        template's distance to its own parent's; ``shifted`` (moved in time alone) when either
        parent has no such date."""
        if parent_field is None or not isinstance(f, models.DateField) or isinstance(f, models.DateTimeField):
            raise VolumeError(f"{spec.label}.{f.name}: only a date column of a model with a parent is aligned")
        column = qn(parent_field.related_model._meta.get_field(spec.align[f.name]).column)
        parent_table = qn(parent_field.related_model._meta.db_table)
        return (
            f"COALESCE((SELECT p.{column} FROM {parent_table} p WHERE p.id = {parent_lo} + (g % {parent_n}))"  # noqa: S608
            f" + ({src} - (SELECT tp.{column} FROM {parent_table} tp WHERE tp.id = t.{qn(parent_field.column)})),"
            f" {shifted})"
        )

    def copy_like_parent(self, spec: Spec) -> None:
        """Each generated parent gets a copy of every child of the demo parent whose
        ``spec.like_parent`` column has the same value (the one with the most children when several
        have), its dates moved by as much as the parent's ``created_at`` was. A parent whose state
        no demo parent has gets none. Unique text columns and foreign keys to other generated
        tables are not supported here (refused)."""
        model = apps.get_model(spec.label)
        parent_field = model._meta.get_field(spec.parent)
        parent_model = parent_field.related_model
        if parent_model._meta.label not in self.generated:
            raise VolumeError(f"{spec.label}: generate {parent_model._meta.label} first")
        state_col = parent_model._meta.get_field(spec.like_parent).column
        parent_model._meta.get_field("created_at")  # the copies move in time with their parent
        if spec.label in self.scales:
            raise VolumeError(
                f"{spec.label} follows its parents' states: give {parent_model._meta.label} a scale instead"
            )
        lo, hi = self.generated[parent_model._meta.label]
        # The demo parent per state: the one with the most children (ties: the lowest id). The demo
        # has one review per state, so it is also the review the parent was copied from; were there
        # several, a copy's steps could come from another review in its state than its fields.
        demo = (
            model._base_manager.filter(**{f"{parent_field.name}__lt": lo})
            .values(parent_field.attname, f"{spec.parent}__{spec.like_parent}")
            .annotate(c=models.Count("pk"))
            .order_by("-c", parent_field.attname)
        )
        chosen: dict[str, int] = {}
        for row in demo:
            chosen.setdefault(row[f"{spec.parent}__{spec.like_parent}"], row[parent_field.attname])
        if not chosen:
            self.out(f"{spec.label}: no demo row to copy, skipped")
            return
        cols: list[str] = []
        exprs: list[str] = []
        unique_text = _unique_text_columns(model)
        for f in model._meta.concrete_fields:
            if f.primary_key:
                continue
            src = f"t.{qn(f.column)}"
            if f.name == parent_field.name:
                expr = "p.id"
            elif f.column in unique_text or (
                f.is_relation and f.related_model is not None and f.related_model._meta.label in self.generated
            ):
                raise VolumeError(f"{spec.label}.{f.name}: not supported by like_parent")
            elif isinstance(f, models.DateTimeField):
                expr = f"{src} + (p.created_at - tp.created_at)"
            elif isinstance(f, models.DateField):
                expr = f"{src} + (p.created_at::date - tp.created_at::date)"
            else:
                expr = src
            cols.append(qn(f.column))
            exprs.append(expr)
        values = ", ".join(f"(%s, {int(pk)})" for pk in chosen.values())
        parent_table = qn(parent_model._meta.db_table)
        started = time.perf_counter()
        first = last = None
        total = 0
        step = max(1, CHUNK // 5)
        for a in range(lo, hi + 1, step):
            b = min(hi, a + step - 1)
            sql = (
                f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(cols)}) "  # noqa: S608
                f"SELECT {', '.join(exprs)} FROM {parent_table} p "
                f"JOIN (VALUES {values}) AS m(state, parent) ON m.state = p.{qn(state_col)} "
                f"JOIN {parent_table} tp ON tp.id = m.parent "
                f"JOIN {qn(model._meta.db_table)} t ON t.{qn(parent_field.column)} = m.parent "
                f"WHERE p.id BETWEEN {a} AND {b} ORDER BY p.id, t.id RETURNING id"
            )
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(f"WITH ins AS ({sql}) SELECT min(id), max(id), count(*) FROM ins", list(chosen))  # noqa: S608
                x, y, c = cur.fetchone()
            if not c:
                continue
            if last is not None and x != last + 1:
                raise VolumeError(f"{spec.label}: generated ids are not contiguous ({last} then {x})")
            first = x if first is None else first
            last, total = y, total + c
        if first is None:
            self.out(f"{spec.label}: no parent in a state of the demo's, none generated")
            return
        if last - first + 1 != total:
            raise VolumeError(f"{spec.label}: generated ids are not contiguous ({first}..{last} for {total} rows)")
        self.generated[spec.label] = (first, last)
        self.out(f"{spec.label}: {total:,} rows (as their parents' states) in {time.perf_counter() - started:.1f} s")

    # -- states stored from other tables --------------------------------------------------------
    def stored_states(self) -> None:
        """Set the states apps store from other records (``register_stored_state``) on the
        generated rows, before the history rows copy them: a copied sample keeps its template's
        "waiting", but its test record is another template's copy."""
        for label, fill in _stored_states:
            if label not in self.generated:
                continue
            lo, hi = self.generated[label]
            started, changed = time.perf_counter(), 0
            for a in range(lo, hi + 1, CHUNK):
                with transaction.atomic():
                    changed += fill(a, min(hi, a + CHUNK - 1))
            self.out(f"{label}: {changed:,} stored states set in {time.perf_counter() - started:.1f} s")

    def derived(self) -> None:
        """The tables apps derive from the history rows and signatures just written."""
        for name, fill in _derived:
            started = time.perf_counter()
            with transaction.atomic():
                added = fill()
            self.out(f"{name}: {added:,} rows derived in {time.perf_counter() - started:.1f} s")

    # -- history ----------------------------------------------------------------------------------
    def history(self) -> None:
        changes = {s.label: s.changes for s in PLAN}
        for label, (lo, hi) in self.generated.items():
            model = apps.get_model(label)
            history = getattr(model, "history", None)
            if history is None or not hasattr(history, "model"):
                continue
            hm = history.model
            base_cols = {f.column for f in model._meta.concrete_fields}
            cols, exprs = [], []
            for f in hm._meta.concrete_fields:
                if f.column == "history_id":
                    continue
                cols.append(qn(f.column))
                if f.column in base_cols:
                    exprs.append(f"b.{qn(f.column)}")
                elif f.column == "history_date":
                    exprs.append(
                        f"now() - make_interval(days => (({hi} - b.id::bigint) * {DAYS} / {hi - lo + 1})::int) "
                        "+ make_interval(hours => k * 20)"
                    )
                elif f.column == "history_type":
                    exprs.append("CASE WHEN k = 0 THEN '+' ELSE '~' END")
                elif f.column == "history_change_reason":
                    exprs.append("CASE WHEN k = 0 THEN 'created' ELSE 'volume: changed' END")
                elif f.column == "history_user_id":
                    exprs.append("(SELECT min(id) FROM core_user WHERE username = 'qc_analyst')")
                else:
                    raise VolumeError(f"{hm._meta.label}: unknown history column {f.column}")
            per_row = 1 + changes.get(label, 1)
            started = time.perf_counter()
            total = 0
            step = max(1, CHUNK // per_row)
            for a in range(lo, hi + 1, step):
                b = min(hi, a + step - 1)
                with transaction.atomic(), connection.cursor() as cur:
                    cur.execute(
                        f"INSERT INTO {qn(hm._meta.db_table)} ({', '.join(cols)}) "  # noqa: S608
                        f"SELECT {', '.join(exprs)} FROM {qn(model._meta.db_table)} b "
                        f"CROSS JOIN generate_series(0, {per_row - 1}) AS k "
                        f"WHERE b.id BETWEEN {a} AND {b} ORDER BY b.id, k"
                    )
                    total += cur.rowcount
            self.out(f"{hm._meta.label}: {total:,} history rows in {time.perf_counter() - started:.1f} s")

    # -- signatures -------------------------------------------------------------------------------
    def signatures(self) -> None:
        from django.contrib.contenttypes.models import ContentType
        from django.utils import timezone

        from core import keys
        from core.models import Signature, SignatureChain, User, signed_state

        signer = User.objects.filter(username="qa_reviewer").first() or User.objects.order_by("pk").first()
        kid = keys.current_key_id()
        head = SignatureChain.objects.filter(pk=SignatureChain.HEAD_PK).first()
        previous = head.last_hash if head else ""
        from core.integrity import _meanings

        for label in self.generated:
            model = apps.get_model(label)
            per = SIGNATURES_PER_RECORD.get(label, 0)
            required = getattr(model, "REQUIRED_SIGNATURES", None) or {}
            if not per and not required:
                continue
            lo, hi = self.generated[label]
            ct = ContentType.objects.get_for_model(model)
            used = sorted(set(Signature.objects.filter(content_type=ct).values_list("meaning", flat=True)))
            meanings = used or [m for m, _l in Signature.Meaning.choices]
            started = time.perf_counter()
            made = 0
            now = timezone.now()
            qs = model._base_manager.filter(pk__gte=lo, pk__lte=hi).order_by("pk")
            follow = {"__".join(p.split(".")[:-1]) for p in getattr(model, "SIGNED_STATE", ()) if "." in p}
            # str(record) and the signed state follow links: join them rather than query per row.
            qs = qs.select_related(*sorted(follow)) if follow else qs.select_related()
            rows: list[Signature] = []
            for record in qs.iterator(chunk_size=2000):
                # The meanings its status requires (core.integrity checks them), then the plan's
                # share of the meanings the demo used on this model.
                wanted = list(_meanings(required.get(getattr(record, "status", None), ())))
                wanted += [meanings[(record.pk + i) % len(meanings)] for i in range(max(0, per - len(wanted)))]
                for meaning in wanted:
                    sig = Signature(
                        signer=signer,
                        printed_name=signer.printed_name,
                        meaning=meaning,
                        signed_at=now,
                        content_type=ct,
                        object_id=record.pk,
                        record_label=str(record)[:255],
                        key_id=kid,
                        previous_hash=previous,
                        state=signed_state(record),
                    )
                    sig.record_hash = sig.expected_hash(record)
                    previous = sig.record_hash
                    rows.append(sig)
                if len(rows) >= 5000:
                    with transaction.atomic():
                        Signature._base_manager.bulk_create(rows)
                    made += len(rows)
                    rows = []
            if rows:
                with transaction.atomic():
                    Signature._base_manager.bulk_create(rows)
                made += len(rows)
            self.out(f"signatures on {label}: {made:,} in {time.perf_counter() - started:.1f} s")
        last = Signature._base_manager.order_by("-id").first()
        if last is not None:
            SignatureChain.objects.update_or_create(
                pk=SignatureChain.HEAD_PK, defaults={"last_signature_id": last.pk, "last_hash": last.record_hash}
            )

    # -- documents --------------------------------------------------------------------------------
    def documents(self) -> None:
        from core.models import Document

        doc_table = qn(Document._meta.db_table)
        done: set[tuple[str, str]] = set()
        templates = Document.objects.filter(version=1, supersedes__isnull=True).select_related("content_type")
        for tpl in templates.order_by("pk"):
            model = tpl.content_type.model_class()
            if model is None or (model._meta.label, tpl.kind) in done:
                continue
            done.add((model._meta.label, tpl.kind))
            table = qn(model._meta.db_table)
            state = [f.column for f in model._meta.concrete_fields if f.name in STATE_COLUMNS]
            same_state = "".join(f" AND b.{qn(c)} IS NOT DISTINCT FROM s.{qn(c)}" for c in state)
            with connection.cursor() as cur:
                cur.execute(f"SELECT min(id), max(id) FROM {table}")  # noqa: S608
                lo, hi = cur.fetchone()
            cols, exprs = [], []
            for f in Document._meta.concrete_fields:
                if f.primary_key:
                    continue
                col = f.column
                cols.append(qn(col))
                if col == "object_id":
                    exprs.append("b.id")
                elif col == "number":
                    exprs.append(
                        f"CASE WHEN d.number = '' THEN '' ELSE left(d.number, {f.max_length - 12}) || '-V' || b.id END"
                    )
                elif col == "verification_code":
                    # 16 characters of the code alphabet (no 0, 1, 8, 9), distinct per kind and record.
                    exprs.append("translate(upper(left(md5(d.kind || ':' || b.id::text), 16)), '0189', 'WXYZ')")
                elif col == "issued_at":
                    exprs.append(
                        f"d.issued_at - make_interval(days => (({hi} - b.id::bigint) * {DAYS} / {max(1, hi - lo + 1)})::int)"
                    )
                else:
                    exprs.append(f"d.{qn(col)}")
            started = time.perf_counter()
            total = 0
            for a in range(lo, hi + 1, CHUNK):
                with transaction.atomic(), connection.cursor() as cur:
                    # The "no document yet" check reads this table: with statistics saying it is
                    # nearly empty (before the first chunk, or after one), PostgreSQL scanned it
                    # once per record.
                    cur.execute(f"ANALYZE {doc_table}")
                    cur.execute(
                        f"INSERT INTO {doc_table} ({', '.join(cols)}) "  # noqa: S608
                        f"SELECT {', '.join(exprs)} FROM {table} b "
                        f"JOIN {doc_table} d ON d.id = {tpl.pk} JOIN {table} s ON s.id = {tpl.object_id} "
                        f"WHERE b.id BETWEEN {a} AND {min(hi, a + CHUNK - 1)}{same_state} "
                        f"AND NOT EXISTS (SELECT 1 FROM {doc_table} x WHERE x.content_type_id = d.content_type_id "
                        f"AND x.object_id = b.id AND x.kind = d.kind) ORDER BY b.id"
                    )
                    total += cur.rowcount
            self.out(f"documents {tpl.kind} on {model._meta.label}: {total:,} in {time.perf_counter() - started:.1f} s")
