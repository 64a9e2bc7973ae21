from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _after_migrate(sender, using="default", **kwargs) -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    from core.audit import ensure_append_only_triggers, ensure_history_indexes
    from core.roles import sync_role_permissions

    ensure_append_only_triggers(using=using)
    ensure_history_indexes(using=using)
    from django.conf import settings
    from django.db import connections

    if getattr(settings, "DATABASE_APP_ROLE", "") and connections[using].vendor == "postgresql":
        from core.db_roles import grant_app_privileges

        # A table a migration just added gets the application role's rights (none to UPDATE or
        # DELETE an append-only one): core.db_roles, README "Database roles".
        grant_app_privileges(settings.DATABASE_APP_ROLE, using=using)
    # Permissions of apps listed after core are only created by their own post_migrate call,
    # which comes later: create them all now so each role gets its full set.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_role_permissions(using=using)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from core import auth, checks  # noqa: F401  (sign-in signal receivers; check --deploy additions)

        # After every app's migrations: history tables of all apps exist by then.
        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="core.after_migrate")
