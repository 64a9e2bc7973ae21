"""Demo data: one user per role and realistic products and batches (idempotent).

Everything is created through the same services the pages use, so the demo's history and
signatures are what a real site would have.
"""

from __future__ import annotations

import os

from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from core.models import User
from core.roles import ALL_ROLES

DEFAULT_PASSWORD = "ReleaseDesk-2026!"

PEOPLE = {
    "production_reviewer": "王建国",
    "qc_analyst": "李晓燕",
    "qc_reviewer": "赵敏",
    "qc_head": "陈志强",
    "qa_reviewer": "刘芳",
    "qualified_person": "张伟",
    "customer_service": "周丽",
    "cs_manager": "吴海燕",
    "quality_head": "郑国华",
    "sales": "钱明",
    "finance": "冯雪",
    "recall_coordinator": "黄召回",
    "auditor": "孙审计",
    "admin": "系统管理员",
}


class Command(BaseCommand):
    help = "Create demo users (one per role) and demo data. Safe to run more than once."

    def handle(self, *args, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        users = self._users(password)
        for _label, seeder in self._seeders():
            seeder(users=users, password=password, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write("Users (username = role): " + ", ".join(ALL_ROLES))
        if not os.environ.get("DEMO_PASSWORD"):
            self.stdout.write(f"Password for every demo user: {DEFAULT_PASSWORD}")

    def _users(self, password: str) -> dict[str, User]:
        users = {}
        with transaction.atomic():
            for role in ALL_ROLES:
                user = User.objects.filter(username=role).first()
                if user is None:
                    user = User(username=role, full_name=PEOPLE[role], email=f"{role}@example.com")
                    user.set_password(password)
                    user.is_staff = role == "admin"
                    user._change_reason = "demo data"
                    user.save()
                    user.groups.add(Group.objects.get(name=role))
                    self.stdout.write(f"created user {role}")
                users[role] = user
        return users

    def _seeders(self):
        """Each app may offer demo data as ``<app>.demo.seed(users=..., password=..., stdout=...)``.

        A demo module may name the apps whose demo data it builds on in ``SEED_AFTER`` (e.g. QC
        samples need release's batches); those run first, otherwise INSTALLED_APPS order holds.
        A module may also offer ``seed_late(...)``, run after every app's ``seed`` (e.g. release
        reviews that need QC's approved reports, which need release's batches).
        """
        import importlib

        modules = {}
        for app_config in apps.get_app_configs():
            try:
                modules[app_config.label] = importlib.import_module(f"{app_config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app_config.name}.demo":
                    raise
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(label: str) -> None:
            if label in ordered or label in visiting or label not in modules:
                return
            visiting.add(label)  # a cycle stops here instead of looping
            for before in getattr(modules[label], "SEED_AFTER", ()):
                visit(before)
            ordered.append(label)

        for label in modules:
            visit(label)
        late = [
            (f"{label}:late", modules[label].seed_late) for label in ordered if hasattr(modules[label], "seed_late")
        ]
        return [(label, modules[label].seed) for label in ordered] + late


__all__ = ["Command", "DEFAULT_PASSWORD"]
