"""Builds the database a backup round-trip test backs up (run in its own process by
tests/core/test_backup_restore.py, against the DATABASE_URL and MEDIA_ROOT it is given).

Migrates, then writes through the real services: users, two approved products (signatures,
history), an issued PDF document (file + hash) and a raw-data file; prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.core.management import call_command

    settings.TEMPLATES[0]["DIRS"].append(Path(__file__).parent / "templates")
    call_command("migrate", verbosity=0)

    from core import pdf
    from release import services
    from tests.factories import PASSWORD, ProductFactory, UserFactory

    admin = UserFactory(username="admin1", full_name="管理员", roles=["admin"])
    qa = UserFactory(username="qa1", full_name="刘芳", roles=["qa_reviewer"])
    products = [ProductFactory(name=f"备份测试胶囊{i}", last_changed_by=admin) for i in range(2)]
    approved = [services.product_approve(product=p, user=qa, password=PASSWORD) for p in products]
    document = pdf.issue_document(
        record=approved[0],
        kind="test_product_sheet",
        template_name="pdf/test_document.html",
        context={"product": {"name": approved[0].name}},
        user=qa,
        number="TPS-2026-009",
        title="产品主数据 / Product master record",
    )
    raw = default_storage.save("raw_data/2026/11/hplc-run-7.csv", ContentFile("时间,面积\n1.2,3456\n".encode()))
    print(
        json.dumps(
            {
                "products": {p.pk: p.name for p in approved},
                "document": {"pk": document.pk, "file": document.file.name, "sha256": document.sha256},
                "raw_file": raw,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
