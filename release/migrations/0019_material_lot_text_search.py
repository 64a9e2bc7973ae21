# Issue 12: the material lot list's search (part of the lot number, material name or code, supplier
# or supplier's lot) read every lot twice (rows and count): 38 ms at scale 1.0's 20,000 lots, and
# lots grow with every batch made. Django's icontains compares UPPER(column::text); on PostgreSQL a
# pg_trgm GIN index on that expression per column lets the search OR their bitmaps. SQLite keeps
# the plain scan (no-op).
# A term of one or two characters (a two-character Chinese name) has no trigram: PostgreSQL then
# reads the table as it did without the index.

from core.migration_ops import KeepTrigramExtension
from django.db import migrations

COLUMNS = ("lot_number", "material_name", "material_code", "supplier", "supplier_lot")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS release_materiallot_{column}_trgm ON release_materiallot "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for column in COLUMNS:
            schema_editor.execute(f"DROP INDEX IF EXISTS release_materiallot_{column}_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("release", "0018_list_order_indexes"),
    ]

    operations = [
        KeepTrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
