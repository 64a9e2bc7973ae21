"""The text-search migrations share ``KeepTrigramExtension`` (issue 12): reversing one of them must
neither drop pg_trgm, which the other apps' trigram indexes still use (PostgreSQL refuses, so the
reversal failed), nor read PostgreSQL's catalogue on SQLite (Django's ``TrigramExtension`` did)."""

from __future__ import annotations

import pytest
from django.db import connection

from core.migration_ops import KeepTrigramExtension

pytestmark = pytest.mark.django_db


class RecordingEditor:
    """What a migration's schema editor offers the operation (SQLite's real one cannot be opened
    inside a test's transaction); records the SQL it is given instead of running it."""

    def __init__(self) -> None:
        self.connection = connection
        self.sql: list[str] = []

    def execute(self, sql, params=()) -> None:
        self.sql.append(str(sql))


def test_reversing_keeps_the_extension_and_works_on_sqlite():
    operation = KeepTrigramExtension()
    if connection.vendor != "postgresql":
        editor = RecordingEditor()
        operation.database_backwards("core", editor, None, None)
        operation.database_forwards("core", editor, None, None)
        assert editor.sql == []  # nothing at all on SQLite, either way
        return
    with connection.schema_editor() as editor:
        operation.database_backwards("core", editor, None, None)
        operation.database_forwards("core", editor, None, None)  # IF NOT EXISTS
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_indexes WHERE indexname LIKE %s", ["%\\_trgm"])
            assert cursor.fetchone()[0] >= 9  # the indexes that need it are all still there
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            assert cursor.fetchone() == (1,)
    assert operation.describe() == "Creates extension pg_trgm if missing (kept when reversed)"
