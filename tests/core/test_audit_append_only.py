"""Audit rows cannot be changed or deleted by the ORM, the admin or raw SQL (R-AT-3), and writes that
would bypass history are impossible on audited models (R-AT-4)."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from core.audit import AuditError, tables_with_append_only_triggers
from core.models import AuthEvent, Signature, User
from release import services
from release.models import Batch, Product
from tests.core.audit_helpers import APPEND_ONLY_MODELS, history_models
from tests.core.helpers import qn, raw_sql_refused
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


# --- R-AT-3 append-only audit tables -------------------------------------------------------------


def test_every_audit_table_is_known_to_core():
    """R-AT-3: guard for the tests below — the independent list finds the known tables."""
    labels = {m._meta.label for m in APPEND_ONLY_MODELS}
    assert {
        "core.HistoricalUser",
        "release.HistoricalProduct",
        "release.HistoricalBatch",
        "core.Signature",
        "core.AuthEvent",
    } <= labels


def test_every_audit_table_carries_the_append_only_triggers():
    """R-AT-3: every history table plus signatures and security events is covered."""
    covered = tables_with_append_only_triggers()
    missing = {m._meta.db_table for m in APPEND_ONLY_MODELS} - covered
    assert not missing


def _trigger_operations(table: str) -> set[str]:
    """Which statements the database refuses on ``table`` before each row (read from its catalogue)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname = %s AND NOT t.tgisinternal",
                [table],
            )
            ops = set()
            for (tgtype,) in cursor.fetchall():
                if tgtype & 1 and tgtype & 2:  # FOR EACH ROW, BEFORE
                    ops |= {op for bit, op in ((8, "DELETE"), (16, "UPDATE")) if tgtype & bit}
            return ops
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [table])
        ops = set()
        for (sql,) in cursor.fetchall():
            text = " ".join(sql.upper().split())
            if "RAISE(ABORT" in text:
                ops |= {op for op in ("UPDATE", "DELETE") if f"BEFORE {op} ON" in text}
        return ops


@pytest.mark.parametrize("model", APPEND_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_trigger_refuses_both_update_and_delete(model):
    """R-AT-3: the trigger on each audit table fires before UPDATE and before DELETE."""
    assert _trigger_operations(model._meta.db_table) == {"UPDATE", "DELETE"}


@pytest.mark.parametrize("model", APPEND_ONLY_MODELS, ids=lambda m: m._meta.label)
def test_raw_update_and_delete_fail_in_the_database(model, audit_rows):
    """R-AT-3: raw SQL cannot change or remove an audit row (SQLite and PostgreSQL)."""
    table = qn(model._meta.db_table)
    pk = model._meta.pk
    row = model._base_manager.order_by("pk").values_list(pk.attname, flat=True).first()
    if row is None:
        pytest.skip(f"no {model._meta.label} rows in this test's data; its trigger is checked above")
    column = next(
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not f.choices
        and (f.get_internal_type() == "TextField" or (f.get_internal_type() == "CharField" and f.max_length >= 20))
    )
    before = model._base_manager.values().get(pk=row)
    assert "append-only" in raw_sql_refused(
        f"UPDATE {table} SET {qn(column.column)} = %s WHERE {qn(pk.column)} = %s", ["tampered", row]
    )
    assert "append-only" in raw_sql_refused(f"DELETE FROM {table} WHERE {qn(pk.column)} = %s", [row])
    assert raw_sql_refused(f"DELETE FROM {table}")
    assert model._base_manager.values().get(pk=row) == before


def test_the_fixture_reaches_the_known_audit_tables(audit_rows):
    """R-AT-3: the raw SQL test above really ran for the tables of core and release."""
    for model in (User.history.model, Product.history.model, Batch.history.model, Signature, AuthEvent):
        assert model._base_manager.exists(), model


@pytest.mark.parametrize("model", [Product, Batch, User], ids=lambda m: m._meta.label)
def test_history_rows_cannot_be_changed_or_deleted_through_the_orm(model, audit_rows):
    """R-AT-3: history rows refuse save/delete, and queryset writes are refused."""
    hm = model.history.model
    row = hm.objects.order_by("history_id").first()
    reason = row.history_change_reason
    row.history_change_reason = "rewritten"
    with pytest.raises(AuditError):
        row.save()
    with pytest.raises(AuditError):
        row.delete()
    writes = [
        lambda: hm.objects.filter(history_id=row.history_id).update(history_change_reason="rewritten"),
        lambda: hm.objects.filter(history_id=row.history_id).delete(),
        lambda: model.history.filter(history_id=row.history_id).update(history_change_reason="rewritten"),
        lambda: model.history.all().delete(),
        lambda: hm.objects.bulk_update([row], ["history_change_reason"]),
    ]
    for write in writes:
        with pytest.raises((AuditError, DatabaseError)):
            with transaction.atomic():
                write()
    assert hm.objects.get(history_id=row.history_id).history_change_reason == reason


def test_history_tables_are_not_editable_in_admin(audit_rows):
    """R-AT-3: no history model is registered in admin; signatures and security events are read-only."""
    registered = set(admin.site._registry)
    assert not registered & set(history_models())
    for model in (Signature, AuthEvent):
        model_admin = admin.site._registry[model]
        request = RequestFactory().get("/")
        request.user = User.objects.create_superuser(username=f"root-{model.__name__}", password=PASSWORD)
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_superuser_cannot_change_or_delete_signatures_and_events_in_admin(audit_rows):
    """R-AT-3, R-SIG-4: the admin views themselves refuse."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    sig = Signature.objects.first()
    event = AuthEvent.objects.first()
    assert client.post(reverse("admin:core_signature_change", args=[sig.pk]), {"printed_name": "X"}).status_code == 403
    assert client.post(reverse("admin:core_signature_delete", args=[sig.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:core_authevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:core_signature_changelist")).status_code == 200
    assert Signature.objects.get(pk=sig.pk).printed_name == sig.printed_name


def test_admin_history_view_cannot_restore_an_old_version(audit_rows, qa_reviewer2):
    """R-AT-3, R-AUTH-3: the admin history page is read-only — no revert of a record or a lockout."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    client = Client()
    client.force_login(root)
    product = audit_rows["product"]
    approved = product.history.first()
    services.product_update(product=product, user=qa_reviewer2, data={"pack_size": "新"}, reason="r")
    url = reverse("admin:release_product_simple_history", args=[product.pk, approved.history_id])
    assert client.get(url).status_code == 200
    data = {f: getattr(approved, f) for f in Product.SIGNED_FIELDS if not isinstance(getattr(approved, f), bool)}
    assert client.post(url, {**data, "status": "approved"}).status_code == 403
    product.refresh_from_db()
    assert (product.pack_size, product.status) == ("新", Product.Status.DRAFT)

    locked = User.objects.get(pk=qa_reviewer2.pk)
    before_lock = locked.history.first()
    locked.locked_at = timezone.now()
    locked._change_reason = "test lock"
    locked.save()
    url = reverse("admin:core_user_simple_history", args=[locked.pk, before_lock.history_id])
    response = client.post(
        url,
        {
            "username": locked.username,
            "full_name": locked.full_name,
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    locked.refresh_from_db()
    assert locked.is_locked


# --- R-AT-4 no writes that bypass history ----------------------------------------------------


@pytest.fixture
def batch(audit_rows) -> Batch:
    return Batch.objects.get(pk=audit_rows["batch"].pk)


def _bypassing_writes(model, obj):
    field = "site" if model is Batch else "pack_size"
    return {
        "update": lambda: model.objects.filter(pk=obj.pk).update(**{field: "bypass"}),
        "update_all": lambda: model.objects.update(**{field: "bypass"}),
        "select_for_update_update": lambda: (
            model.objects.select_for_update().filter(pk=obj.pk).update(**{field: "bypass"})
        ),
        "bulk_update": lambda: model.objects.bulk_update([obj], [field]),
        "bulk_create": lambda: model.objects.bulk_create(
            [model(**{f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields if not f.primary_key})]
        ),
        "update_or_create": lambda: model.objects.update_or_create(pk=obj.pk, defaults={field: "bypass"}),
        "queryset_delete": lambda: model.objects.filter(pk=obj.pk).delete(),
        "instance_delete": lambda: obj.delete(),
        "base_manager_update": lambda: model._base_manager.filter(pk=obj.pk).update(**{field: "bypass"}),
        "base_manager_bulk_update": lambda: model._base_manager.bulk_update([obj], [field]),
        "base_manager_delete": lambda: model._base_manager.filter(pk=obj.pk).delete(),
    }


WRITE_NAMES = list(_bypassing_writes(Product, Product(pk=1)))


@pytest.mark.parametrize("write", WRITE_NAMES)
@pytest.mark.parametrize("model", [Product, Batch], ids=lambda m: m.__name__)
def test_writes_that_bypass_history_are_refused(model, write, audit_rows):
    """R-AT-4, R-REC-1: QuerySet.update, bulk writes and hard deletes raise on audited models."""
    obj = model.objects.get(pk=audit_rows[model.__name__.lower()].pk)
    history_before = model.history.count()
    rows_before = list(model.objects.order_by("pk").values())
    with pytest.raises(AuditError):
        with transaction.atomic():
            _bypassing_writes(model, obj)[write]()
    assert list(model.objects.order_by("pk").values()) == rows_before
    assert model.history.count() == history_before


def test_related_managers_refuse_bypassing_writes(audit_rows):
    """R-AT-4: product.batches.update()/delete() are the same holes by another path."""
    product = audit_rows["product"]
    with pytest.raises(AuditError):
        product.batches.update(site="bypass")
    with pytest.raises(AuditError):
        product.batches.all().delete()
    assert Batch.objects.filter(product=product).exists()
