from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QcRecordsConfig(AppConfig):
    name = "qc_records"
    verbose_name = _("QC records")

    def ready(self) -> None:
        from core import work
        from qc_records.work import queues

        work.register(queues)
