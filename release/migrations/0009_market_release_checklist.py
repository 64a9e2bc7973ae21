"""The market-release checklist (B.1.7) and the review's link to it; old reviews keep none."""

import django.db.models.deletion
from django.db import migrations, models


def seed(apps, schema_editor):
    from release.checklist_data import seed_checklists

    seed_checklists(
        apps.get_model("release", "ChecklistTemplate").objects, apps.get_model("release", "ChecklistItem").objects
    )


class Migration(migrations.Migration):

    dependencies = [
        ('release', '0008_material_lots_and_balance'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalreleasereview',
            name='market_template',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='release.checklisttemplate', verbose_name='market release checklist'),
        ),
        migrations.AddField(
            model_name='releasereview',
            name='market_template',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='release.checklisttemplate', verbose_name='market release checklist'),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
