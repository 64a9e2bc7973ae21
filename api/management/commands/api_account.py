"""Accounts of connected systems (ERP, WMS, LIMS) and their API tokens — for administrators.

manage.py api_account create ERP --by admin --scope shipments --scope feedback
manage.py api_account token ERP --by admin        # prints a new token once; the old one stops working
manage.py api_account revoke ERP --by admin --reason "ERP replaced"
manage.py api_account list
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api.models import ApiToken
from api.services import SCOPES, api_token_issue, api_token_revoke, system_account_create
from core.models import User
from core.workflow import WorkflowError


class Command(BaseCommand):
    help = "Create system accounts of connected systems, issue and revoke their API tokens."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create the account of a connected system and print its token")
        create.add_argument("name", help="the connected system, e.g. ERP")
        create.add_argument("--by", required=True, help="username of the system administrator doing it")
        create.add_argument(
            "--scope", action="append", default=[], choices=[s for s in SCOPES if s != "read"], help="what it may write"
        )
        create.add_argument("--reason", default="", help="why (kept in the account's history)")
        token = sub.add_parser("token", help="issue a new token (the previous one is revoked)")
        token.add_argument("name")
        token.add_argument("--by", required=True)
        revoke = sub.add_parser("revoke", help="revoke the account's token")
        revoke.add_argument("name")
        revoke.add_argument("--by", required=True)
        revoke.add_argument("--reason", required=True)
        sub.add_parser("list", help="list system accounts and their tokens")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "list":
            for account in User.objects.filter(is_system_account=True).order_by("username"):
                tokens = ApiToken.objects.filter(account=account, revoked_at__isnull=True)
                working = ", ".join(f"{t.prefix}… since {t.created_at:%Y-%m-%d}" for t in tokens) or "no working token"
                state = "active" if account.is_active else "deactivated"
                self.stdout.write(f"{account.username}\t{state}\t{working}")
            return
        admin = self._user(options["by"], system=False)
        try:
            if action == "create":
                account = system_account_create(
                    user=admin, name=options["name"], scopes=options["scope"], reason=options["reason"]
                )
                _token, key = api_token_issue(user=admin, account=account)
                self.stdout.write(
                    f"Created {account.username}. Its token (shown once, keep it in the {options['name']} configuration):"
                )
                self.stdout.write(key)
            elif action == "token":
                _token, key = api_token_issue(user=admin, account=self._account(options["name"]))
                self.stdout.write("New token (shown once; the previous token no longer works):")
                self.stdout.write(key)
            elif action == "revoke":
                count = api_token_revoke(user=admin, account=self._account(options["name"]), reason=options["reason"])
                self.stdout.write(f"Revoked {count} token(s).")
        except WorkflowError as exc:
            raise CommandError(str(exc)) from None

    def _user(self, username: str, *, system: bool) -> User:
        user = User.objects.filter(username__iexact=username, is_system_account=system).first()
        if user is None:
            raise CommandError(f"No user {username}.")
        return user

    def _account(self, name: str) -> User:
        return self._user(f"system-{name.lower()}", system=True)
