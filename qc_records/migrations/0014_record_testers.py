# Issue 12: who tested a record, stored (qc_records.testers). Existing records get their testers
# from the audit trail here, by the same set-based query verify_integrity compares the table with.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_testers(apps, schema_editor):
    from qc_records import testers

    testers.fill(schema_editor.connection.alias, apps)


class Migration(migrations.Migration):

    dependencies = [
        ('qc_records', '0013_queue_indexes'),
        ('core', '0018_authevent_kinds_restored_and_api_tokens'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RecordTester',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('record', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='qc_records.testrecord', verbose_name='test record')),
                ('user', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='tester')),
            ],
            options={
                'verbose_name': 'tester of a test record',
                'verbose_name_plural': 'testers of test records',
                'indexes': [models.Index(fields=['user', 'record'], name='qc_recordtester_user')],
                'constraints': [models.UniqueConstraint(fields=('record', 'user'), name='qc_recordtester_once')],
            },
        ),
        migrations.RunPython(fill_testers, migrations.RunPython.noop),
    ]
