# Issue 12: the sample list's text search (icontains on number, lot and material name) read every
# sample. On PostgreSQL a pg_trgm GIN index per column serves Django's icontains, which compares
# UPPER(column::text); the index is on that same expression. SQLite keeps the plain scan (no-op).

from core.migration_ops import KeepTrigramExtension
from django.db import migrations

TABLE = "qc_records_sample"
COLUMNS = ("number", "lot_number", "material_name")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS qc_sample_{column}_trgm ON {TABLE} "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS qc_sample_{column}_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("qc_records", "0011_sample_test_state"),
    ]

    operations = [
        KeepTrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
