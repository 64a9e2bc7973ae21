# The number counters moved to core (core.numbering serves every app). The numbers already handed
# out are carried over, so the next report, OOS and sample numbers continue without a repeat.

from django.db import migrations


def copy_counters(apps, schema_editor):
    Old = apps.get_model("qc_records", "NumberCounter")
    New = apps.get_model("core", "NumberCounter")
    for row in Old.objects.all():
        New.objects.update_or_create(series=row.series, year=row.year, defaults={"last": row.last})


def copy_back(apps, schema_editor):
    Old = apps.get_model("qc_records", "NumberCounter")
    New = apps.get_model("core", "NumberCounter")
    for row in New.objects.filter(series__in=["QC", "OOS", "sample"]):
        Old.objects.update_or_create(series=row.series, year=row.year, defaults={"last": row.last})


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0007_number_counter"),
        ("qc_records", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(copy_counters, copy_back),
        migrations.DeleteModel(name="NumberCounter"),
    ]
