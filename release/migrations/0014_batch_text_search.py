# Issue 12: the batch list's search (icontains on the batch number) read every batch. On PostgreSQL
# a pg_trgm GIN index serves Django's icontains, which compares UPPER(column::text); the index is
# on that same expression. SQLite keeps the plain scan (no-op).

from core.migration_ops import KeepTrigramExtension
from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS release_batch_number_trgm ON release_batch "
            "USING gin ((UPPER(batch_number::text)) gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS release_batch_number_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("release", "0013_batch_list_indexes"),
    ]

    operations = [
        KeepTrigramExtension(),
        migrations.RunPython(create_index, drop_index),
    ]
