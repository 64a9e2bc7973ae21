from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AftersalesConfig(AppConfig):
    name = "aftersales"
    verbose_name = _("After-sales")

    def ready(self) -> None:
        from django.utils.translation import gettext_noop

        from aftersales import stored_states
        from aftersales.work import queues
        from core import work
        from core.audit_trail import register_system_reasons

        work.register(queues)
        stored_states.connect()  # a customer's last visit: checked by verify_integrity, set by generate_volume
        # The fixed reason aftersales.services.visits writes with a customer's last approved visit.
        register_system_reasons(gettext_noop("last approved visit recorded"))
