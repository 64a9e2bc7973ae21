"""Audit-trail machinery shared by every GMP model.

django-simple-history writes one history row per save. Three things it does not do on its own,
and which Part 11 / Annex 11 need, are added here:

* a reason for change is required for every change after creation (Annex 11 §9);
* writes that bypass ``save()`` (``QuerySet.update``, bulk writes, deletes) are refused, because
  they would leave no history row (R-AT-4);
* history and signature tables are append-only in the database itself (R-AT-3, see
  ``ensure_append_only_triggers``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalChanges, HistoricalRecords


class AuditError(Exception):
    """A write that would break the audit trail was attempted."""


class ReasonRequired(AuditError):
    def __init__(self) -> None:
        super().__init__(_("A reason for the change is required."))


class AuditedQuerySet(models.QuerySet):
    """Reads as usual; writes that skip ``save()`` (and so skip history) are refused."""

    def update(self, **kwargs: Any):  # type: ignore[override]
        raise AuditError(
            f"{self.model.__name__}: QuerySet.update() bypasses the audit trail; save each object through its service."
        )

    def bulk_update(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        raise AuditError(f"{self.model.__name__}: bulk_update() bypasses the audit trail.")

    def bulk_create(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        raise AuditError(f"{self.model.__name__}: bulk_create() bypasses the audit trail.")

    def update_or_create(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        raise AuditError(f"{self.model.__name__}: update_or_create() cannot carry a reason for change.")

    def delete(self):  # type: ignore[override]
        raise AuditError(f"{self.model.__name__}: GMP records are voided with a reason, never deleted.")

    delete.queryset_only = True  # type: ignore[attr-defined]


class AppendOnlyHistory(models.Model):
    """Base of every historical model: a history row, once written, is never changed."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError("History rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("History rows are append-only.")


class ReusedHistoryManager(HistoryManager):
    """simple-history's manager, whose class is made once per queryset class. simple-history's
    ``Model.history`` builds a new manager class on every access (``from_queryset``, which inspects
    every QuerySet method: ~0.1–0.2 ms), and a record page reads ``history`` two to seven times
    (issue 12). The class is the same each time; only the instance (model, record) differs."""

    @classmethod
    @cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


def audited_history(**kwargs: Any) -> HistoricalRecords:
    """The HistoricalRecords used by every GMP model (one place to configure it)."""
    kwargs.setdefault("bases", [AppendOnlyHistory])
    kwargs.setdefault("history_manager", ReusedHistoryManager)
    kwargs.setdefault("cascade_delete_history", False)
    return HistoricalRecords(**kwargs)


class AuditedModel(models.Model):
    """Abstract base of GMP records: history, reason for change, no deletes, voiding.

    Subclasses declare ``history = audited_history()`` themselves (simple-history then names the
    historical model after the concrete class and puts it in the concrete app).
    """

    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True, editable=False)
    void_reason = models.TextField(_("reason for voiding"), blank=True, editable=False)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True
        # Related-object access and Django internals use the base manager: it must refuse bypassing
        # writes as well.
        base_manager_name = "objects"

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not business logic: without it a shell or admin save could change a GMP record
        # with no reason in the audit trail.
        if not self._state.adding and not (getattr(self, "_change_reason", "") or "").strip():
            raise ReasonRequired()
        super().save(*args, **kwargs)
        # The reason belongs to this one change; the next save needs its own.
        self._change_reason = ""

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError(f"{type(self).__name__}: GMP records are voided with a reason, never deleted.")

    def save_audited(self, *, user, reason: str = "", **kwargs: Any) -> None:
        """Save with the audit trail's who and why (services call this, never bare save())."""
        self._history_user = user
        self._change_reason = reason.strip()
        self.save(**kwargs)


def history_models() -> list[type[models.Model]]:
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, HistoricalChanges)]


def append_only_models() -> list[type[models.Model]]:
    """Every table that must never see UPDATE or DELETE."""
    from django.apps import apps

    extra = [m for m in apps.get_models() if getattr(m, "APPEND_ONLY", False)]
    return history_models() + extra


_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION releasedesk_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Release Desk: % on % refused: audit records are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def ensure_append_only_triggers(using: str = "default") -> list[str]:
    """Create the database triggers that refuse UPDATE/DELETE on audit tables (idempotent).

    Runs after every ``migrate`` (post_migrate), so a history table added later, or one that
    SQLite rebuilt during an ALTER, gets its trigger back. Returns the tables covered.
    """
    from django.db import connections

    conn = connections[using]
    tables = sorted({m._meta.db_table for m in append_only_models()})
    existing = set(conn.introspection.table_names())
    tables = [t for t in tables if t in existing]
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
            for table in tables:
                qt = conn.ops.quote_name(table)
                cursor.execute(f"DROP TRIGGER IF EXISTS releasedesk_append_only ON {qt}")
                cursor.execute(
                    f"CREATE TRIGGER releasedesk_append_only BEFORE UPDATE OR DELETE ON {qt} "
                    "FOR EACH ROW EXECUTE FUNCTION releasedesk_append_only()"
                )
        elif conn.vendor == "sqlite":
            for table in tables:
                qt = conn.ops.quote_name(table)
                for op in ("UPDATE", "DELETE"):
                    name = conn.ops.quote_name(f"releasedesk_no_{op.lower()}_{table}")
                    cursor.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {qt} BEGIN "
                        f"SELECT RAISE(ABORT, 'Release Desk: {op} on {table} refused: audit records are append-only'); END"
                    )
    return tables


def history_index_name(table: str, kind: str = "user") -> str:
    import hashlib

    digest = hashlib.sha1(f"{table}:{kind}".encode(), usedforsecurity=False).hexdigest()[:8]
    return f"rd_hist_{kind}_{table[:40]}_{digest}"


def ensure_history_indexes(using: str = "default") -> list[str]:
    """Give every history table two composite indexes, created if missing (issue 12):

    - (user, time, id): the audit search filtered by a person asks each table for that person's
      newest rows; simple-history indexes the user and the time apart, so at millions of rows
      PostgreSQL either walks the whole time index filtering on the user or sorts all of the
      person's rows;
    - (record, time, id): a record's timeline and every entry's predecessor (the old values
      shown beside the new) are "the newest row of this record before this one"; with the
      record and the time indexed apart PostgreSQL may walk the time index backwards (8.7 s for
      a page of 50 batch changes at 400,000 history rows, measured).

    Like the append-only triggers this runs after every ``migrate`` for the history tables of every
    app (no migration per app, and a history table added later gets them too); ``CREATE INDEX IF NOT
    EXISTS`` makes it idempotent. Both SQLite and PostgreSQL (there built CONCURRENTLY, so the first
    ``migrate`` on a database with millions of history rows does not block writes while it builds).
    """
    from django.db import connections

    conn = connections[using]
    existing = set(conn.introspection.table_names())
    # On a PostgreSQL database that already holds years of history, the first build must not
    # block writes: CONCURRENTLY where allowed (outside a transaction).
    how = "CONCURRENTLY " if conn.vendor == "postgresql" and not conn.in_atomic_block else ""
    made = []
    with conn.cursor() as cursor:
        for hm in history_models():
            table = hm._meta.db_table
            if table not in existing:
                continue
            record = hm.instance_type._meta.pk.column  # type: ignore[attr-defined]
            for kind, first in (("user", "history_user_id"), ("rec", record)):
                name = history_index_name(table, kind)
                cursor.execute(
                    f"CREATE INDEX {how}IF NOT EXISTS {conn.ops.quote_name(name)} ON {conn.ops.quote_name(table)} "
                    f"({conn.ops.quote_name(first)}, history_date, history_id)"
                )
                made.append(name)
    return made


def tables_with_append_only_triggers(using: str = "default") -> set[str]:
    """Read back from the database which tables carry the triggers (for tests and checks)."""
    from django.db import connections

    conn = connections[using]
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname = 'releasedesk_append_only' AND NOT t.tgisinternal"
            )
            return {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'releasedesk_no_%'"
        )
        rows = cursor.fetchall()
    updates = {t for t, n in rows if n.startswith("releasedesk_no_update_")}
    deletes = {t for t, n in rows if n.startswith("releasedesk_no_delete_")}
    return updates & deletes


__all__ = [
    "AuditError",
    "ReasonRequired",
    "AuditedQuerySet",
    "AuditedModel",
    "AppendOnlyHistory",
    "audited_history",
    "ensure_append_only_triggers",
    "ensure_history_indexes",
    "tables_with_append_only_triggers",
]


class ChangeTracked(AuditedModel):
    """Abstract base of GMP records that show who saved them last, and when.

    One meaning everywhere: ``last_changed_by`` / ``updated_at`` are the person and time of the
    latest change of the record's own data — what someone typed (``core.workflow.save_changed``).
    Workflow steps (submitted, reviewed, approved, voided) keep their own ``*_by`` / ``*_at``
    fields, signatures and history rows and leave these alone (``core.workflow.save_step``), so
    an approver never reads as the last editor. Everyone who authored a version (and so may not
    approve it) comes from the history (``core.workflow.history_user_ids``).
    """

    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("last changed at"), default=timezone.now, editable=False)
    last_changed_by = models.ForeignKey(
        "core.User", verbose_name=_("last changed by"), on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta(AuditedModel.Meta):
        abstract = True
