"""Least privilege in PostgreSQL: the application role cannot bypass the append-only triggers
(issue 8 item 5; R-AT-3). PostgreSQL only: SQLite has no roles."""

from __future__ import annotations

import secrets

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from core.models import AuthEvent, Signature
from release.models import Product
from tests.factories import PASSWORD, ProductFactory

IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="database roles are PostgreSQL's"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def roles():
    suffix = secrets.token_hex(4)
    owner, app = f"rd_owner_{suffix}", f"rd_app_{suffix}"
    call_command("setup_db_roles", owner=owner, app=app, stdout=open("/dev/null", "w"))  # noqa: SIM115
    yield owner, app
    with connection.cursor() as cursor:
        cursor.execute(f"REASSIGN OWNED BY {owner} TO CURRENT_USER")
        cursor.execute(f"DROP OWNED BY {owner}")  # its default privileges name the app role: first
        cursor.execute(f"DROP OWNED BY {app}")
        cursor.execute(f"DROP ROLE {app}")
        cursor.execute(f"DROP ROLE {owner}")


def _connect_as(role: str):
    import psycopg

    params = connection.settings_dict
    return psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        dbname=params["NAME"],
        user=role,
        autocommit=True,
    )


def test_application_role_cannot_change_history_or_signatures_or_switch_the_triggers_off(roles, users):
    """Issue 8 item 5 (R-AT-3): connected as the application role, every way around the append-only
    rule is refused by PostgreSQL — UPDATE/DELETE of signature and history rows, TRUNCATE, ALTER
    TABLE … DISABLE TRIGGER, DROP TRIGGER, session_replication_role = replica, and DDL."""
    import psycopg

    from release import services

    owner, app = roles
    product = services.product_approve(
        product=ProductFactory(last_changed_by=users["admin"]), user=users["qa_reviewer"], password=PASSWORD
    )
    signature = Signature.objects.for_record(product).get()
    signatures, history = Signature._meta.db_table, Product.history.model._meta.db_table
    refused = [
        f"UPDATE {signatures} SET comment = 'x' WHERE id = {signature.pk}",
        f"DELETE FROM {signatures} WHERE id = {signature.pk}",
        f"UPDATE {history} SET history_change_reason = 'x'",
        f"DELETE FROM {history}",
        f"UPDATE {AuthEvent._meta.db_table} SET detail = 'x'",
        f"TRUNCATE {signatures}",
        f"TRUNCATE {history}",
        f"ALTER TABLE {signatures} DISABLE TRIGGER releasedesk_append_only",
        f"ALTER TABLE {history} DISABLE TRIGGER ALL",
        f"DROP TRIGGER releasedesk_append_only ON {signatures}",
        "SET session_replication_role = replica",
        "CREATE TABLE rd_scratch (id int)",
        f"ALTER TABLE {signatures} ADD COLUMN x int",
        "CREATE OR REPLACE FUNCTION releasedesk_append_only() RETURNS trigger AS $$ BEGIN RETURN NULL; END $$ LANGUAGE plpgsql",
    ]
    with _connect_as(app) as conn:
        for sql in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        # It is still the application's role: it reads, records events and changes ordinary rows.
        assert conn.execute(f"SELECT count(*) FROM {signatures}").fetchone()[0] == 1
        conn.execute(
            f"INSERT INTO {AuthEvent._meta.db_table} (kind, at, username, detail) VALUES ('login', now(), 'x', '')"
        )
        conn.execute(f"UPDATE {Product._meta.db_table} SET storage_conditions = storage_conditions")
        owns = conn.execute("SELECT count(*) FROM pg_tables WHERE tableowner = current_user").fetchone()[0]
        assert owns == 0
    assert Signature.objects.get(pk=signature.pk).comment == signature.comment


def test_owner_role_runs_migrations_and_keeps_the_application_role_out_of_new_tables(roles):
    """Issue 8 item 5 (R-AT-3): the owner owns every table; the application role owns none."""
    owner, app = roles
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert {row[0] for row in cursor.fetchall()} == {owner}
        cursor.execute(
            "SELECT has_table_privilege(%s, %s, 'UPDATE'), has_table_privilege(%s, %s, 'UPDATE')",
            [app, Signature._meta.db_table, app, Product._meta.db_table],
        )
        assert cursor.fetchone() == (False, True)
