"""manage.py setup_db_roles — the owner and application roles in PostgreSQL (README "Database roles").

Run once as a PostgreSQL superuser (DATABASE_URL of a superuser), after the first migrate and
after every restore. Passwords are read from the environment variables named by the options,
never from the command line.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core.db_roles import setup_roles


class Command(BaseCommand):
    help = "Create the migration owner role and the least-privilege application role (PostgreSQL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--owner", default="releasedesk_owner", help="role that owns the tables; migrations use it")
        parser.add_argument("--app", default="releasedesk_app", help="role the web application connects as")
        parser.add_argument(
            "--owner-password-env", default="", help="environment variable holding the owner's password"
        )
        parser.add_argument(
            "--app-password-env", default="", help="environment variable holding the application's password"
        )

    def handle(self, *args, owner, app, owner_password_env, app_password_env, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are a PostgreSQL setup; the SQLite demo has none.")
        if owner == app:
            raise CommandError("The owner and the application must be different roles.")
        passwords = {}
        for key, name in (("owner_password", owner_password_env), ("app_password", app_password_env)):
            if name:
                if not os.environ.get(name):
                    raise CommandError(f"{name} is not set.")
                passwords[key] = os.environ[name]
        with transaction.atomic():
            statements = setup_roles(owner_role=owner, app_role=app, **passwords)
        for sql in statements:
            self.stdout.write(sql + ";")
        self.stdout.write(self.style.SUCCESS(f"{owner} owns the tables; {app} owns nothing and cannot alter them."))
