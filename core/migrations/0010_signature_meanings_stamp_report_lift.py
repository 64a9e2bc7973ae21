# Signature meanings for the release stamp, ADR reports and lifting a hold (say what is attested, R-SIG-2).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0009_signature_state'),
    ]

    operations = [
        migrations.AlterField(
            model_name='signature',
            name='meaning',
            field=models.CharField(choices=[('authored', 'Prepared'), ('tested', 'Tested'), ('reviewed', 'Reviewed'), ('approved', 'Approved'), ('released', 'Released'), ('rejected', 'Rejected'), ('verified', 'Verified'), ('closed', 'Closed'), ('voided', 'Voided'), ('unlocked', 'Unlocked'), ('purged', 'Raw data destroyed after retention'), ('stamped', 'Release stamp applied'), ('reported', 'Reported to the authority'), ('lifted', 'Hold lifted')], max_length=32, verbose_name='meaning'),
        ),
    ]
