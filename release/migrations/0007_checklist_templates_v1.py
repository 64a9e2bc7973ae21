"""Checklist templates version 1 (release.checklist_data, from ZL-086 and GMP 第二百三十条(一)1–6)."""

from django.db import migrations


def seed(apps, schema_editor):
    from release.checklist_data import seed_checklists

    seed_checklists(
        apps.get_model("release", "ChecklistTemplate").objects, apps.get_model("release", "ChecklistItem").objects
    )


class Migration(migrations.Migration):
    dependencies = [("release", "0006_release_review")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
