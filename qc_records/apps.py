from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QcRecordsConfig(AppConfig):
    name = "qc_records"
    verbose_name = _("QC records")

    def ready(self) -> None:
        from django.utils.translation import gettext_noop

        from core import work
        from core.audit_trail import register_system_reasons
        from qc_records import stored_states, testers
        from qc_records.work import queues

        work.register(queues)
        testers.connect()  # the stored testers, written with each history row and "Tested" signature
        stored_states.connect()  # a sample's test state: checked by verify_integrity, set by generate_volume
        # The fixed reasons qc_records.services writes into the audit trail.
        register_system_reasons(
            gettext_noop("added"),
            gettext_noop("archived"),
            gettext_noop("archived again"),
            gettext_noop("attached"),
            gettext_noop("findings recorded"),
            gettext_noop("removed from the test record"),
            gettext_noop("report approved"),
            gettext_noop("reviewed"),
            gettext_noop("started"),
            gettext_noop("submitted for review"),
            gettext_noop("used"),
            gettext_noop("calculation recorded"),
            gettext_noop("result recorded"),
            gettext_noop("results recorded"),
            gettext_noop("record changed"),
            gettext_noop("discarded data recorded"),
            gettext_noop("correction of an OOS result refused"),
        )
