from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecallsConfig(AppConfig):
    name = "recalls"
    verbose_name = _("Recalls")

    def ready(self) -> None:
        from core import work
        from recalls.work import queues

        work.register(queues)
