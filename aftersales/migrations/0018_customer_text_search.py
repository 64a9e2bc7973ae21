# Issue 12: the shipment list's "customer" filter (part of a name) and the customer list's search
# (name or registered address) read every customer: Django's icontains compares UPPER(column::text),
# which no B-tree serves. On PostgreSQL a pg_trgm GIN index on that same expression does (a
# distributor network of tens of thousands of customers); SQLite keeps the plain scan (no-op).
# A term of one or two characters (a two-character Chinese name) has no trigram: PostgreSQL then
# reads the table as it did without the index.

from core.migration_ops import KeepTrigramExtension
from django.db import migrations

INDEXES = {
    "aftersales_customer_name_trgm": "name",
    "aftersales_customer_address_trgm": "registered_address",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX IF NOT EXISTS {name} ON aftersales_customer "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
            )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("aftersales", "0017_complaint_queue_indexes"),
    ]

    operations = [
        KeepTrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
