"""Least privilege in PostgreSQL (issue 8 item 5; R-AT-3).

Two roles:

* the **owner** owns every table, sequence and the append-only trigger function; migrations run
  as this role (``MIGRATE_DATABASE_URL``);
* the **application** role (``DATABASE_URL`` of the web processes) owns nothing. It may read and
  write rows, but never UPDATE or DELETE an append-only table (history, signatures, security
  events, issued documents), and — owning no table and being no superuser — it cannot TRUNCATE,
  ALTER or DROP a table, disable or drop a trigger, create tables, or set
  ``session_replication_role`` (which would silence the triggers).

``grant_app_privileges`` runs after every ``migrate`` when ``DATABASE_APP_ROLE`` is set, so a
table added by a later migration gets the same grants (and no UPDATE/DELETE if append-only).
"""

from __future__ import annotations

from django.db import connections

from core.audit import append_only_models


def _q(conn, name: str) -> str:
    return conn.ops.quote_name(name)


def _tables(conn) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        return [row[0] for row in cursor.fetchall()]


def _role_exists(conn, role: str) -> bool:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        return cursor.fetchone() is not None


def grant_app_privileges(app_role: str, using: str = "default") -> list[str]:
    """(Re)grant the application role exactly its row rights on every table; returns the SQL run."""
    conn = connections[using]
    app = _q(conn, app_role)
    append_only = {m._meta.db_table for m in append_only_models()}
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
    ]
    for table in _tables(conn):
        if table in append_only:
            statements.append(f"REVOKE UPDATE, DELETE ON {_q(conn, table)} FROM {app}")
        elif table == "django_migrations":
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {_q(conn, table)} FROM {app}")
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return statements


def setup_roles(
    *, owner_role: str, app_role: str, owner_password: str = "", app_password: str = "", using: str = "default"
) -> list[str]:
    """Create (or bring up to date) both roles and hand every object to the owner. Run as a
    superuser (or the database's owner) once, and after restoring a backup. Idempotent."""
    conn = connections[using]
    owner, app = _q(conn, owner_role), _q(conn, app_role)
    database = _q(conn, conn.settings_dict["NAME"])
    flags = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"
    statements: list[str] = []
    for role, quoted in ((owner_role, owner), (app_role, app)):
        verb = "ALTER" if _role_exists(conn, role) else "CREATE"
        statements.append(f"{verb} ROLE {quoted} {flags}")
    statements += [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {owner}",
        f"GRANT CONNECT ON DATABASE {database} TO {app}",
        # Nobody but the owner creates objects (PostgreSQL 15 already withholds this from PUBLIC).
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {owner}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
    ]
    for table in _tables(conn):
        statements.append(f"ALTER TABLE {_q(conn, table)} OWNER TO {owner}")
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'releasedesk_append_only'")
        if cursor.fetchone():
            statements.append(f"ALTER FUNCTION releasedesk_append_only() OWNER TO {owner}")
    statements += [
        # Tables a later migration creates (as the owner) give the application row rights at once;
        # grant_app_privileges() after migrate then withdraws UPDATE/DELETE on append-only ones.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]
    with conn.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
        for role, password in ((owner, owner_password), (app, app_password)):
            if password:
                cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
    statements += grant_app_privileges(app_role, using=using)
    return statements
