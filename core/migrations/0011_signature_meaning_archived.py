# The archive signature means "Archived" (归档), not "Closed" (issue 7 item 10).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0010_signature_meanings_stamp_report_lift'),
    ]

    operations = [
        migrations.AlterField(
            model_name='signature',
            name='meaning',
            field=models.CharField(choices=[('authored', 'Prepared'), ('tested', 'Tested'), ('reviewed', 'Reviewed'), ('approved', 'Approved'), ('released', 'Released'), ('rejected', 'Rejected'), ('verified', 'Verified'), ('closed', 'Closed'), ('voided', 'Voided'), ('unlocked', 'Unlocked'), ('purged', 'Raw data destroyed after retention'), ('stamped', 'Release stamp applied'), ('reported', 'Reported to the authority'), ('lifted', 'Hold lifted'), ('archived', 'Archived')], max_length=32, verbose_name='meaning'),
        ),
    ]
