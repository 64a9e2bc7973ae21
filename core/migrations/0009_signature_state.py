# The record's signed state on each keyed signature (issue 8 item 1).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0008_keyed_chained_signatures'),
    ]

    operations = [
        migrations.AddField(
            model_name='signature',
            name='state',
            field=models.JSONField(blank=True, default=dict, null=True, verbose_name='record state when signed'),
        ),
    ]
