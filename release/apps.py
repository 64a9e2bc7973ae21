from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_checklists(sender, using="default", **kwargs) -> None:
    # The data migration seeds them; a flushed test database (transactional tests) gets them back.
    from release.checklist_data import seed_checklists
    from release.models import ChecklistItem, ChecklistTemplate

    seed_checklists(ChecklistTemplate.objects.db_manager(using), ChecklistItem.objects.db_manager(using))


class ReleaseConfig(AppConfig):
    name = "release"
    verbose_name = _("Release")

    def ready(self) -> None:
        from django.utils.translation import gettext_noop

        from core import work
        from core.audit_trail import register_system_reasons
        from release.work import queues

        work.register(queues)
        post_migrate.connect(_ensure_checklists, sender=self, dispatch_uid="release.ensure_checklists")
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
