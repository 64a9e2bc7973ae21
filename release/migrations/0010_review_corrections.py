"""Review corrections: QA prepares, the designated QP approves, the decision document is reissued (issue 9)."""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('release', '0009_market_release_checklist'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalReviewCorrection',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('voided_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='voided at')),
                ('void_reason', models.TextField(blank=True, editable=False, verbose_name='reason for voiding')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='last changed at')),
                ('item_key', models.CharField(max_length=32, verbose_name='entry corrected')),
                ('correction', models.TextField(verbose_name='what the entry should read')),
                ('reason', models.TextField(verbose_name='reason for the correction')),
                ('status', models.CharField(choices=[('requested', 'Awaiting the qualified person'), ('approved', 'Approved and reissued'), ('refused', 'Refused')], db_index=True, default='requested', max_length=16, verbose_name='status')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='prepared at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='approved or refused at')),
                ('decision_comment', models.TextField(blank=True, verbose_name="qualified person's comment")),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('decided_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved or refused by')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('last_changed_by', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='last changed by')),
                ('requested_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='prepared by')),
                ('review', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='release.releasereview', verbose_name='release review')),
                ('step', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='release.reviewstep', verbose_name='decision corrected')),
            ],
            options={
                'verbose_name': 'historical review correction',
                'verbose_name_plural': 'historical review corrections',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ReviewCorrection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('voided_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='voided at')),
                ('void_reason', models.TextField(blank=True, editable=False, verbose_name='reason for voiding')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='created at')),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, editable=False, verbose_name='last changed at')),
                ('item_key', models.CharField(max_length=32, verbose_name='entry corrected')),
                ('correction', models.TextField(verbose_name='what the entry should read')),
                ('reason', models.TextField(verbose_name='reason for the correction')),
                ('status', models.CharField(choices=[('requested', 'Awaiting the qualified person'), ('approved', 'Approved and reissued'), ('refused', 'Refused')], db_index=True, default='requested', max_length=16, verbose_name='status')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='prepared at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='approved or refused at')),
                ('decision_comment', models.TextField(blank=True, verbose_name="qualified person's comment")),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='approved or refused by')),
                ('last_changed_by', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='last changed by')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='prepared by')),
                ('review', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='release.releasereview', verbose_name='release review')),
                ('step', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='release.reviewstep', verbose_name='decision corrected')),
            ],
            options={
                'verbose_name': 'review correction',
                'verbose_name_plural': 'review corrections',
                'ordering': ['requested_at', 'id'],
                'abstract': False,
                'base_manager_name': 'objects',
            },
        ),
    ]
