"""The integrity check QA runs (``manage.py verify_integrity``, the "Integrity check" page).

It re-verifies, from what is stored now:

* every signature's keyed hash against its record, and the signature chain (a removed or
  inserted row breaks it; see ``core.signatures``);
* every issued document's file against the SHA-256 taken when it was issued;
* every stored file of a model that has an ``is_intact()`` method (raw-data attachments…);
* every record's state against its signatures: a model declares
  ``REQUIRED_SIGNATURES = {status: meaning or (meanings…)}``; a record in that status without a
  valid signature of each meaning is a finding (approved without "Approved"…);
* whatever apps add with ``register(check)``.

Everything is read in chunks in primary-key order: memory stays bounded and each chunk costs a
fixed number of queries (signatures: one for the rows, one per signed model for the records, and
one per model for the audit-trail rows of signatures superseded by an audited change; records in
a status that requires a signature: one for the rows, one for their signatures). Each record is
compared with its newest audit-trail row by the database, one query per model; only the records
that differ are read. So it runs at ten-year volume (``benchmarks/verify_integrity.py
--existing``; figures in ``benchmarks/README.md``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from core import keys
from core.models import Document, Signature, SignatureChain

CHUNK = 2000


@dataclass
class Finding:
    kind: str
    subject: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.message}"


class SignatureIds:
    """A set of signature ids as a bitmap (1.4 million ids in 175 kB): the signatures
    ``check_signatures`` found valid against their record in this run, so that the later checks
    do not hash them again."""

    def __init__(self) -> None:
        self.bits = bytearray()

    def add(self, pk: int) -> None:
        at = pk >> 3
        if at >= len(self.bits):
            self.bits.extend(bytes(at - len(self.bits) + 65536))
        self.bits[at] |= 1 << (pk & 7)

    def __contains__(self, pk: object) -> bool:
        if not isinstance(pk, int):
            return False
        at = pk >> 3
        return at < len(self.bits) and bool(self.bits[at] & (1 << (pk & 7)))


@dataclass
class Report:
    limit: int | None = None
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started_at: object = None
    finished_at: object = None
    chain_head: tuple[int | None, str] = (None, "")
    # How many signatures there are and the newest one's hash: the line to keep outside the
    # database (``head_line``); the next run is given it back with ``expect_head``.
    signature_count: int = 0
    # Signatures found valid by check_signatures in this run (see verifies()).
    verified: SignatureIds = field(default_factory=SignatureIds)
    # The head kept outside the database (``expect_head``): check_signatures, reading every
    # signature in order anyway, notes where the first one with that hash is (its id and position),
    # so that check_expected_head needs no scan of its own; None when not looked for.
    expect_head: tuple[int, str] | None = None
    expected_found: tuple[int, int] | None = None
    expected_scanned: bool = False

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, subject: str, message: str) -> None:
        self.findings.append(Finding(kind, subject, message))

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n


Check = Callable[[Report], None]
_checks: list[Check] = []


def register(check: Check) -> Check:
    """Add a check (a callable taking the Report); usable as a decorator. Idempotent."""
    if check not in _checks:
        _checks.append(check)
    return check


def chunks(queryset: models.QuerySet, *, limit: int | None = None, size: int = CHUNK) -> Iterator[list]:
    """The queryset's rows in primary-key order, ``size`` at a time (keyset pagination).

    With ``limit``, only the last ``limit`` rows (the most recent).
    """
    queryset = queryset.order_by("pk")
    if limit is not None:
        first = queryset.order_by("-pk").values_list("pk", flat=True)[limit - 1 : limit].first()
        if first is not None:
            queryset = queryset.filter(pk__gte=first)
    after = None
    while True:
        page = queryset if after is None else queryset.filter(pk__gt=after)
        rows = list(page[:size])
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1].pk


def _legacy_boundary() -> int:
    return (
        SignatureChain.objects.filter(pk=SignatureChain.HEAD_PK).values_list("legacy_boundary_id", flat=True).first()
        or 0
    )


def verifies(
    signature: Signature, record: models.Model | None, legacy_boundary: int, verified: SignatureIds | None = None
) -> bool:
    """``signature.is_valid(record)`` without a query (the boundary read once per run).

    ``verified``: signatures already found valid against their record as stored in this run
    (``check_signatures``), not hashed again; a record changed through the application while the
    check runs is checked as it was read, and again the next night."""
    if record is None:
        return False
    if verified is not None and signature.pk in verified and record.pk == signature.object_id:
        return True
    if signature.is_legacy and signature.pk > legacy_boundary:
        return False
    return keys.equal(signature.expected_hash(record), signature.record_hash)


def _records_for(rows: list) -> dict[tuple[int, int], models.Model]:
    """The records a chunk of signatures (or documents) belong to: one query per model."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        wanted[row.content_type_id].add(row.object_id)
    found: dict[tuple[int, int], models.Model] = {}
    for ct_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        if model is None:
            continue
        # Only the signed columns: the hash covers nothing else (most of the time of the check
        # was reading and converting the records' other columns).
        signed = getattr(model, "SIGNED_FIELDS", None)
        queryset = model._base_manager.only(*signed) if signed else model._base_manager.all()
        for pk, record in queryset.in_bulk(ids).items():
            found[(ct_id, pk)] = record
    return found


def superseded_by_audited_change(pending: list[tuple[Signature, models.Model]], legacy_boundary: int) -> set[int]:
    """The ids of the signatures in ``pending`` (signature, its record as stored now; each one
    does not verify against that record) that are superseded by a later audited change
    (``Signature.superseded_by_audited_change``, decided alike): one query per model, reading the
    audit-trail rows of the records concerned, whatever their number."""
    import bisect

    from core.models import signed_content

    by_model: dict[int, list[tuple[Signature, models.Model]]] = defaultdict(list)
    for sig, record in pending:
        by_model[sig.content_type_id].append((sig, record))
    found: set[int] = set()
    for ct_id, items in by_model.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        history = getattr(model, "history", None) if model is not None else None
        if history is None:
            continue
        trail: dict[int, list] = defaultdict(list)
        # Oldest first per record; the newest row is the last, the row as signed the last one
        # made at or before the signing.
        for row in history.model.objects.filter(id__in={sig.object_id for sig, _r in items}).order_by(
            "id", "history_date", "history_id"
        ):
            trail[row.id].append(row)
        dates = {pk: [row.history_date for row in rows] for pk, rows in trail.items()}
        current: dict[int, dict] = {}
        for sig, record in items:
            rows = trail.get(sig.object_id)
            if not rows or rows[-1].history_date <= sig.signed_at:
                continue
            at = bisect.bisect_right(dates[sig.object_id], sig.signed_at)
            if at == 0:
                continue
            if sig.object_id not in current:
                current[sig.object_id] = (
                    signed_content(rows[-1].instance) == signed_content(record) if record is not None else False
                )
            if current[sig.object_id] and verifies(sig, rows[at - 1].instance, legacy_boundary):
                found.add(sig.pk)
    return found


def check_signatures(report: Report) -> None:
    """Each signature against its record as stored, and the chain from one row to the next."""
    from core.signatures import legacy_seal

    head = SignatureChain.objects.filter(pk=SignatureChain.HEAD_PK).first()
    boundary = head.legacy_boundary_id if head else 0
    known = keys.known_key_ids()
    previous: Signature | None = None
    legacy = 0
    label = _("signatures")

    def subject(sig: Signature) -> str:
        return _("signature #%(id)s (%(sig)s on %(record)s)") % {"id": sig.pk, "sig": sig, "record": sig.record_label}

    unverified: list[tuple[Signature, models.Model]] = []
    # Looking for the kept head on the way (only over the whole chain: the position counts from 1).
    wanted_hash = report.expect_head[1] if report.expect_head is not None and report.limit is None else None
    position = 0
    for rows in chunks(Signature.objects.all(), limit=report.limit):
        records = _records_for(rows)
        report.count(label, len(rows))
        for sig in rows:
            position += 1
            if wanted_hash is not None and report.expected_found is None and sig.record_hash == wanted_hash:
                report.expected_found = (sig.pk, position)
            if sig.is_legacy:
                legacy += 1
                if sig.pk > boundary:
                    report.add(
                        "signature",
                        subject(sig),
                        _("unkeyed signature made after keyed signing began: not made by Release Desk (forged row)"),
                    )
            else:
                if sig.key_id not in known:
                    report.add(
                        "signature",
                        subject(sig),
                        _("made with a key that is not configured (%(key)s): add it to SIGNATURE_KEYS_OLD")
                        % {"key": sig.key_id},
                    )
                elif previous is not None and sig.previous_hash != previous.record_hash:
                    report.add(
                        "chain",
                        subject(sig),
                        _(
                            "the chain is broken before this signature (the one before it is not #%(id)s): a signature was removed or inserted"
                        )
                        % {"id": previous.pk},
                    )
            record = records.get((sig.content_type_id, sig.object_id))
            if record is None:
                report.add("signature", subject(sig), _("the signed record no longer exists"))
            elif sig.key_id in known or sig.is_legacy:
                if verifies(sig, record, boundary):
                    report.verified.add(sig.pk)
                else:
                    unverified.append((sig, record))
            previous = sig
        # An earlier round of a record reopened, sent back or retested: authentic for what it
        # signed; the later change is in the audit trail. One query per model for the chunk.
        superseded = superseded_by_audited_change(unverified, boundary)
        if superseded:
            report.count(_("of them superseded by a later audited change"), len(superseded))
        for sig, _record in unverified:
            if sig.pk not in superseded:
                report.add(
                    "signature",
                    subject(sig),
                    _(
                        "does not verify: the record was changed after signing, or the signature row was altered or forged"
                    ),
                )
        unverified.clear()
    report.expected_scanned = wanted_hash is not None
    if legacy:
        report.count(_("of them legacy, unkeyed"), legacy)
        report.notes.append(
            _(
                "%(n)s signature(s) were made before keyed signing (plain SHA-256, ids up to %(id)s): "
                "they still prove the record unchanged, and the seal taken at the first keyed signature "
                "proves none was added or removed since."
            )
            % {"n": legacy, "id": boundary}
        )
        if head is not None and not head.legacy_seal:
            report.notes.append(_("No keyed signature yet: the legacy signatures are sealed at the first one."))
    if head is None:
        if previous is not None:
            report.add("chain", _("signature chain"), _("the chain head is missing"))
        return
    report.chain_head = (head.last_signature_id, head.last_hash)
    if (
        report.limit is None
        and previous is not None
        and (head.last_signature_id != previous.pk or head.last_hash != previous.record_hash)
    ):
        report.add(
            "chain",
            _("signature chain"),
            _(
                "the chain head names signature #%(head)s but the last signature is #%(last)s: signatures were removed at the end, or the head was altered"
            )
            % {"head": head.last_signature_id, "last": previous.pk},
        )
    if report.limit is None and head.legacy_seal:
        if legacy_seal(boundary, head.legacy_seal_key_id) != head.legacy_seal:
            report.add(
                "chain",
                _("legacy signatures"),
                _(
                    "the legacy (unkeyed) signatures are not those sealed at the first keyed signature: one was added, removed or changed"
                ),
            )


def check_documents(report: Report) -> None:
    """Each issued document's file against the SHA-256 taken when it was issued."""
    for rows in chunks(Document.objects.only("id", "kind", "number", "version", "file", "sha256"), limit=report.limit):
        for document in rows:
            report.count(_("issued documents"))
            stored = document.stored_file_sha256()
            if stored is None:
                report.add("document", str(document), _("the PDF file is missing"))
            elif stored != document.sha256:
                report.add("document", str(document), _("the PDF file differs from the one issued (SHA-256 changed)"))


def _file_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if callable(getattr(m, "is_intact", None))]


def check_files(report: Report) -> None:
    """Every model with ``is_intact()`` (stored files with the hash taken on upload)."""
    for model in _file_models():
        label = str(model._meta.verbose_name_plural)
        for rows in chunks(model._base_manager.all(), limit=report.limit):
            for obj in rows:
                report.count(label)
                if not obj.is_intact():
                    report.add(
                        "file",
                        f"{model._meta.verbose_name} #{obj.pk} ({obj})",
                        _("the stored file is missing or changed"),
                    )


def required_signature_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if getattr(m, "REQUIRED_SIGNATURES", None)]


def _meanings(required) -> tuple[str, ...]:
    return (required,) if isinstance(required, str) else tuple(required)


def missing_signatures(record: models.Model) -> list[str]:
    """Meanings the record's status requires and that no valid signature of the record has."""
    required = getattr(type(record), "REQUIRED_SIGNATURES", None) or {}
    meanings = _meanings(required.get(getattr(record, "status", None), ()))
    if not meanings:
        return []
    boundary = _legacy_boundary()
    have = {
        s.meaning
        for s in Signature.objects.for_record(record).filter(meaning__in=meanings)
        if verifies(s, record, boundary)
    }
    return [m for m in meanings if m not in have]


def _label(model: type[models.Model], path: str) -> str:
    derived = getattr(model, "DERIVED_STATE", {})
    if path in derived:
        return str(derived[path])
    head, _dot, rest = path.partition(".")
    try:
        name = str(model._meta.get_field(head).verbose_name)
    except Exception:  # a path the model no longer has: show it as written
        return path
    return f"{name} · {rest}" if rest else name


def _shown(model: type[models.Model], path: str, value) -> str:
    """A signed-state value as a person reads it: the choice's label, "—" for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    try:
        current = model
        *links, last = path.split(".")
        for link in links:
            current = current._meta.get_field(link).related_model
        field = current._meta.get_field(last)
    except Exception:  # a path the model no longer has: show the value as stored
        return str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def state_problems(record: models.Model, *, as_loaded: bool = False) -> list[str]:
    """Why the record's state is not what its signatures and audit trail say, in words a person can
    act on; empty when it is intact (issue 8 item 3). See ``problems_by_record``.

    ``as_loaded``: the caller read ``record`` (with the links its signed state follows) in this
    request and changed nothing on it: checked as it is instead of being read again."""
    if as_loaded:
        return problems_by_record([record]).get(record.pk, [])
    model = type(record)
    # The links the signed state follows (``sample.batch``) read in the same query.
    links = {p.rsplit(".", 1)[0].replace(".", "__") for p in getattr(model, "SIGNED_STATE", ()) if "." in p}
    queryset = model._base_manager.all()
    if links:  # select_related() with no names would join every non-null link
        queryset = queryset.select_related(*links)
    stored = queryset.get(pk=record.pk)
    return problems_by_record([stored]).get(stored.pk, [])


def problems_by_record(
    records: list[models.Model], *, include_missing: bool = True, verified: SignatureIds | None = None
) -> dict[int, list[str]]:
    """``{pk: problems}`` for records of one model, in a fixed number of queries (four, plus none
    for links the caller has ``select_related``). A record is not intact when

    - its status requires a signature it has no valid one of (set by SQL, not by the workflow);
    - what the newest such signature vouched for (``Signature.state``: verdict, numbers, people,
      linked records) differs from the record now (the status itself may move on legitimately,
      e.g. approved → superseded; a status moved by SQL has no audit-trail row, reported below);
    - the record differs from its newest audit-trail row: changed without the application.
    """
    if not records:
        return {}
    problems: dict[int, list[str]] = defaultdict(list)
    signature_problems(records, problems, include_missing=include_missing, verified=verified)
    history_problems(records, problems)
    return dict(problems)


def signature_problems(
    records: list[models.Model],
    problems: dict[int, list[str]],
    *,
    include_missing: bool = True,
    verified: SignatureIds | None = None,
    boundary: int | None = None,
) -> None:
    """The first two points of ``problems_by_record`` (missing signature, vouched state changed),
    added to ``problems``: one query for the signatures of the records, none when no record is in a
    status that requires one (and one for ``boundary``, the legacy boundary, when not given and a
    signature is unkeyed)."""
    from core.models import signed_state

    if not records:
        return
    model = type(records[0])
    by_pk = {r.pk: r for r in records}
    required = getattr(model, "REQUIRED_SIGNATURES", None) or {}
    wanted = {m for r in records for m in _meanings(required.get(getattr(r, "status", None), ()))}
    if not wanted:
        return
    ct = ContentType.objects.get_for_model(model, for_concrete_model=True)
    valid: dict[int, list[Signature]] = defaultdict(list)
    signatures = list(
        Signature.objects.filter(content_type=ct, object_id__in=list(by_pk), meaning__in=wanted).order_by(
            "object_id", "-signed_at", "-pk"
        )
    )
    if boundary is None:
        # The legacy boundary matters only to unkeyed signatures: not read when there are none.
        boundary = _legacy_boundary() if any(sig.is_legacy for sig in signatures) else 0
    for sig in signatures:
        if verifies(sig, by_pk[sig.object_id], boundary, verified):
            valid[sig.object_id].append(sig)
    for record in records:
        meanings = _meanings(required.get(getattr(record, "status", None), ()))
        if not meanings:
            continue
        mine = [s for s in valid[record.pk] if s.meaning in meanings]
        for meaning in meanings:
            if include_missing and not any(s.meaning == meaning for s in mine):
                problems[record.pk].append(
                    _("status “%(status)s” without a valid “%(meaning)s” signature")
                    % {"status": record.get_status_display(), "meaning": Signature.Meaning(meaning).label}
                )
        vouching = next((s for s in mine if s.state), None)
        if vouching is not None:
            now = signed_state(record)
            for path, signed in vouching.state.items():
                if path != "status" and path in now and now[path] != signed:
                    problems[record.pk].append(
                        _("%(field)s is “%(now)s” but was “%(signed)s” when signed “%(meaning)s”")
                        % {
                            "field": _label(model, path),
                            "now": _shown(model, path, now[path]),
                            "signed": _shown(model, path, signed),
                            "meaning": vouching.get_meaning_display(),
                        }
                    )


def _compared_fields(model: type[models.Model]) -> list[models.Field]:
    """The record's columns its audit-trail rows also hold (what ``history_problems`` compares)."""
    kept = {f.attname for f in model.history.model._meta.concrete_fields}
    return [f for f in model._meta.concrete_fields if f.attname in kept]


def history_problems(records: list[models.Model], problems: dict[int, list[str]]) -> None:
    """The last point of ``problems_by_record`` (the record differs from its newest audit-trail row,
    naming the fields), added to ``problems``: one query, none for a model without an audit trail."""
    if not records:
        return
    model = type(records[0])
    history = getattr(model, "history", None)
    if history is None:
        return
    by_pk = {r.pk: r for r in records}
    hm = history.model
    compared = _compared_fields(model)
    newest = hm.objects.filter(id__in=list(by_pk)).values("id").annotate(last=models.Max("history_id"))
    # The newest rows as tuples of the compared columns: no model instance per row.
    for values in hm.objects.filter(history_id__in=models.Subquery(newest.values("last"))).values_list(
        "id", *(f.attname for f in compared)
    ):
        record = by_pk[values[0]]
        changed = [
            str(f.verbose_name)
            for f, value in zip(compared, values[1:], strict=True)
            if value != getattr(record, f.attname)
        ]
        if changed:
            problems[record.pk].append(
                _("changed without an audit-trail entry: %(fields)s") % {"fields": ", ".join(changed)}
            )


def first_of_last(queryset: models.QuerySet, limit: int | None):
    """The primary key of the ``limit``-th newest row (None without a limit or with fewer rows)."""
    if limit is None:
        return None
    return queryset.order_by("-pk").values_list("pk", flat=True)[limit - 1 : limit].first()


def differing_from_newest_history(model: type[models.Model], *, since=None) -> list:
    """The primary keys of the records whose columns differ from their newest audit-trail row,
    compared by the database (null-safe) in one query over the whole table: no row is read into
    Python unless it differs. ``since``: only records with a primary key from it on.

    Every difference ``history_problems`` reports is found here (two stored values the database
    holds equal are equal in Python too); the caller confirms each candidate with
    ``history_problems``, which names the fields."""
    from django.db import connections, router

    hm = model.history.model
    connection = connections[router.db_for_read(model)]
    qn = connection.ops.quote_name
    pk = model._meta.pk
    h_columns = {f.attname: f.column for f in hm._meta.concrete_fields}
    h_id, h_pk = qn(h_columns[pk.attname]), qn(hm._meta.pk.column)
    op = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    differs = " OR ".join(
        f"r.{qn(f.column)} {op} h.{qn(h_columns[f.attname])}" for f in _compared_fields(model) if not f.primary_key
    )
    if not differs:
        return []
    params: list = []
    inner_where = outer_where = ""
    if since is not None:
        inner_where, outer_where = f" WHERE {h_id} >= %s", f" AND r.{qn(pk.column)} >= %s"
        params = [since, since]
    sql = (
        f"SELECT r.{qn(pk.column)} FROM {qn(model._meta.db_table)} r"
        f" JOIN (SELECT {h_id} AS rid, MAX({h_pk}) AS last FROM {qn(hm._meta.db_table)}{inner_where}"
        f" GROUP BY {h_id}) n ON n.rid = r.{qn(pk.column)}"
        f" JOIN {qn(hm._meta.db_table)} h ON h.{h_pk} = n.last"
        f" WHERE ({differs}){outer_where} ORDER BY r.{qn(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def check_required_signatures(report: Report) -> None:
    """A record whose status requires a signature it does not have (set by SQL, not by the workflow),
    for models without an audit trail: ``check_signed_state`` checks it for the others, in the same
    pass as the state their signatures vouched for."""
    boundary = _legacy_boundary()
    audited = set(audited_models())
    for model in required_signature_models():
        if model in audited:
            continue
        ct = ContentType.objects.get_for_model(model, for_concrete_model=True)
        for status, required in model.REQUIRED_SIGNATURES.items():
            meanings = _meanings(required)
            for rows in chunks(model._base_manager.filter(status=status), limit=report.limit):
                by_pk = {r.pk: r for r in rows}
                valid: dict[int, set[str]] = defaultdict(set)
                for sig in Signature.objects.filter(content_type=ct, object_id__in=list(by_pk), meaning__in=meanings):
                    if verifies(sig, by_pk.get(sig.object_id), boundary, report.verified):
                        valid[sig.object_id].add(sig.meaning)
                for record in rows:
                    report.count(str(model._meta.verbose_name_plural))
                    for meaning in meanings:
                        if meaning not in valid[record.pk]:
                            report.add(
                                "state",
                                f"{model._meta.verbose_name} #{record.pk} ({record})",
                                _("status “%(status)s” without a valid “%(meaning)s” signature")
                                % {
                                    "status": record.get_status_display(),
                                    "meaning": Signature.Meaning(meaning).label,
                                },
                            )


def audited_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if hasattr(m, "history") and hasattr(m, "SIGNED_FIELDS")]


def _state_columns(model: type[models.Model]) -> list[str] | None:
    """The columns the state check reads, as ``only()`` takes them: the signed content (to verify a
    signature not verified earlier in the run), the status, and each link of a dotted
    ``SIGNED_STATE`` path with the column at its end. None for a model with ``DERIVED_STATE``
    (computed by its own code, which may read any column)."""
    if getattr(model, "DERIVED_STATE", None):
        return None
    columns = {model._meta.pk.name, "status", *getattr(model, "SIGNED_FIELDS", ())}
    for path in getattr(model, "SIGNED_STATE", ()):
        parts = path.split(".")
        columns.update("__".join(parts[: i + 1]) for i in range(len(parts)))
    return sorted(columns)


def check_signed_state(report: Report) -> None:
    """Each signed record with an audit trail against its signatures and its newest audit-trail
    row (what ``problems_by_record`` says of it), in two parts per model:

    * the records in a status that requires signatures (``REQUIRED_SIGNATURES``), chunk by chunk
      with the links ``SIGNED_STATE`` follows (selected with the rows) and the rows
      ``DERIVED_STATE`` reads (prefetched): a status without its signature, and a state that
      differs from what the newest vouching signature recorded. Two queries per chunk, plus the
      prefetches; records in other statuses have nothing to vouch for them and are not read;
    * every record against its newest audit-trail row, compared by the database in one query per
      model (``differing_from_newest_history``); only the records that differ are read, to name
      the changed fields.

    With ``report.limit``, the most recent rows of each required status and of the model."""
    boundary = _legacy_boundary()
    for model in audited_models():
        subject = model._meta.verbose_name
        required = getattr(model, "REQUIRED_SIGNATURES", None) or {}
        if required:
            links = sorted(
                {p.rsplit(".", 1)[0].replace(".", "__") for p in getattr(model, "SIGNED_STATE", ()) if "." in p}
            )
            queryset = model._base_manager.select_related(*links) if links else model._base_manager.all()
            # Derived state (DERIVED_STATE) reads related rows: fetched once per chunk, not per record.
            if prefetch := getattr(model, "DERIVED_STATE_PREFETCH", ()):
                queryset = queryset.prefetch_related(*prefetch)
            if columns := _state_columns(model):
                # Only what the signed state reads (most of the time was reading the other columns).
                queryset = queryset.only(*columns)
            if report.limit is None:
                parts = [queryset.filter(status__in=list(required))]
            else:
                parts = [queryset.filter(status=status) for status in required]
            for part in parts:
                for rows in chunks(part, limit=report.limit):
                    report.count(str(model._meta.verbose_name_plural), len(rows))
                    found: dict[int, list[str]] = defaultdict(list)
                    signature_problems(rows, found, include_missing=True, verified=report.verified, boundary=boundary)
                    for record in rows:
                        for message in found.get(record.pk, ()):
                            report.add("state", f"{subject} #{record.pk} ({record})", message)
        since = first_of_last(model._base_manager.all(), report.limit)
        differing = differing_from_newest_history(model, since=since)
        for start in range(0, len(differing), CHUNK):
            rows = list(model._base_manager.filter(pk__in=differing[start : start + CHUNK]).order_by("pk"))
            found = defaultdict(list)
            history_problems(rows, found)
            for record in rows:
                for message in found.get(record.pk, ()):
                    report.add("state", f"{subject} #{record.pk} ({record})", message)


for _check in (check_signatures, check_documents, check_files, check_required_signatures, check_signed_state):
    register(_check)


def parse_head(text: str) -> tuple[int, str]:
    """``"<count>:<hash>"`` as printed by ``verify_integrity`` → (count, hash); ValueError if not."""
    count, sep, digest = (text or "").strip().partition(":")
    digest = digest.strip().lower()
    if not sep or not count.strip().isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(text)
    return int(count), digest


def check_expected_head(report: Report, expected: tuple[int, str]) -> None:
    """The tail of the chain against a head kept outside the database (issue 8 item 4).

    Someone with owner rights can delete the newest signatures and rewind the chain head row to
    match: the chain then verifies from end to end. The head printed by an earlier run (count and
    hash) still names the newest signature *then*: it must still be there, at the same position,
    and the chain can only have grown since. No query when ``check_signatures`` read the whole
    chain in this run with the same head (it notes where the head is); two otherwise.
    """
    count, digest = expected
    if report.expected_scanned and report.expect_head == expected:
        found, position = report.expected_found or (None, None)
    else:
        found = Signature.objects.filter(record_hash=digest).order_by("pk").values_list("pk", flat=True).first()
        position = Signature.objects.filter(pk__lte=found).count() if found is not None else None
    if found is None:
        report.add(
            "chain",
            _("signature chain"),
            _(
                "the kept head (%(count)s signatures, ending in %(hash)s…) is no longer in the chain: "
                "signatures were removed at the end and the head rewound, or the chain was rewritten"
            )
            % {"count": count, "hash": digest[:12]},
        )
        return
    if position != count:
        report.add(
            "chain",
            _("signature chain"),
            _(
                "the kept head's signature #%(id)s is now number %(position)s in the chain, not %(count)s: "
                "signatures before it were removed or inserted"
            )
            % {"id": found, "position": position, "count": count},
        )
    elif report.signature_count < count:
        report.add(
            "chain",
            _("signature chain"),
            _("the chain has %(now)s signatures, fewer than the %(count)s of the kept head")
            % {"now": report.signature_count, "count": count},
        )


def run(limit: int | None = None, expect_head: tuple[int, str] | None = None) -> Report:
    """Run every registered check; ``limit``: only the last ``limit`` rows of each kind;
    ``expect_head``: (count, hash) printed by an earlier run and kept outside the database."""
    report = Report(limit=limit, started_at=timezone.now(), expect_head=expect_head)
    for check in list(_checks):
        check(report)
    report.signature_count = Signature.objects.count()
    if expect_head is not None:
        check_expected_head(report, expect_head)
    report.finished_at = timezone.now()
    return report
