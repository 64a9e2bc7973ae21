from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecallsConfig(AppConfig):
    name = "recalls"
    verbose_name = _("Recalls")

    def ready(self) -> None:
        from aftersales.for_recalls import on_return_recorded
        from core import work
        from recalls.services import consignee_returns_sync
        from recalls.work import queues

        work.register(queues)
        on_return_recorded(consignee_returns_sync)
