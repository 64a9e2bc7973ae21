"""Migration operations the apps share."""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension


class KeepTrigramExtension(TrigramExtension):
    """``CREATE EXTENSION IF NOT EXISTS pg_trgm`` on PostgreSQL (nothing on SQLite), never dropped
    when a migration is reversed: several apps' text-search indexes use it, PostgreSQL refuses to
    drop it while any of them exists, and Django's ``TrigramExtension`` reversed also fails on SQLite
    (it reads ``pg_extension``). Each migration drops its own indexes on the way back."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        return None

    def describe(self) -> str:
        return "Creates extension pg_trgm if missing (kept when reversed)"
