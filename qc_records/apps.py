from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QcRecordsConfig(AppConfig):
    name = "qc_records"
    verbose_name = _("QC records")
