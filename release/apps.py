from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReleaseConfig(AppConfig):
    name = "release"
    verbose_name = _("Release")

    def ready(self) -> None:
        from django.utils.translation import gettext_noop

        from core import work
        from core.audit_trail import register_system_reasons
        from release.work import queues

        work.register(queues)
        # The fixed reasons release.services writes into the audit trail.
        register_system_reasons(
            gettext_noop("placed"),
            gettext_noop("raised"),
            gettext_noop("review started"),
            gettext_noop("production review signed"),
            gettext_noop("QC review signed"),
            gettext_noop("QA evaluation signed"),
            gettext_noop("release stamp applied"),
            gettext_noop("released by the qualified person"),
            gettext_noop("factory released by the qualified person"),
            gettext_noop("rejected by the qualified person"),
            gettext_noop("designated"),
        )
