# Issue 12: the sample's "waiting for a test record" is stored and indexed. Existing samples are
# filled from their test records here, each change with its own audit-trail row.

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

REASON = "test state stored from the sample's test records (migration)"


def fill_test_state(apps, schema_editor):
    """Every existing sample was added as "waiting"; the ones with a live (not voided) test record
    are set to "started", and a history row records that change, so the newest audit-trail row of
    each sample matches it (``core.integrity`` compares the two). Set-based SQL: hundreds of
    thousands of samples at a plant's volume."""
    sample = apps.get_model("qc_records", "Sample")
    history = apps.get_model("qc_records", "HistoricalSample")
    record = apps.get_model("qc_records", "TestRecord")
    qn = schema_editor.connection.ops.quote_name
    s_table, h_table, r_table = (qn(m._meta.db_table) for m in (sample, history, record))
    live = f"EXISTS (SELECT 1 FROM {r_table} r WHERE r.sample_id = {s_table}.id AND r.status <> 'voided')"  # noqa: S608
    base_cols = [f.column for f in sample._meta.concrete_fields]
    with schema_editor.connection.cursor() as cur:
        cur.execute(f"UPDATE {s_table} SET test_state = 'started' WHERE {live}")  # noqa: S608
        cols = ", ".join(qn(c) for c in base_cols)
        cur.execute(
            f"INSERT INTO {h_table} ({cols}, history_date, history_change_reason, history_type, history_user_id) "  # noqa: S608
            f"SELECT {cols}, %s, %s, '~', NULL FROM {s_table} WHERE test_state = 'started' ORDER BY id",
            [schema_editor.connection.ops.adapt_datetimefield_value(timezone.now()), REASON],
        )


class Migration(migrations.Migration):

    dependencies = [
        ('qc_records', '0010_physical_min_default_help'),
        ('release', '0013_batch_list_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Added as "waiting", then the samples with a live record are set to "started" below.
        migrations.AddField(
            model_name='historicalsample',
            name='test_state',
            field=models.CharField(choices=[('waiting', 'Waiting for a test record'), ('started', 'Test record started')], default='waiting', editable=False, max_length=16, verbose_name='test state'),
        ),
        migrations.AddField(
            model_name='sample',
            name='test_state',
            field=models.CharField(choices=[('waiting', 'Waiting for a test record'), ('started', 'Test record started')], default='waiting', editable=False, max_length=16, verbose_name='test state'),
        ),
        migrations.RunPython(fill_test_state, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='sample',
            index=models.Index(condition=models.Q(('test_state', 'waiting'), ('voided_at__isnull', True)), fields=['received_date', 'id'], name='qc_sample_waiting'),
        ),
    ]
