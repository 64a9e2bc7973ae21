# The gap-free number counters, now in core (moved from qc_records; its 0002 copies the rows).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0006_signature_meaning_purged'),
    ]

    operations = [
        migrations.CreateModel(
            name='NumberCounter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('series', models.CharField(max_length=16)),
                ('year', models.PositiveSmallIntegerField()),
                ('last', models.PositiveIntegerField(default=0)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('series', 'year'), name='core_counter_series_year_unique')],
            },
        ),
    ]
