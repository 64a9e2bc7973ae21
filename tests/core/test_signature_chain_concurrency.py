"""Concurrent signings cannot fork the signature chain (issue 8 item 2; R-SIG-3, R-AT-3).

SQLite serialises writers (transaction_mode IMMEDIATE), so the race exists only on PostgreSQL;
threads need committed data seen by several connections, hence transaction=True.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from core import integrity
from core.models import Signature
from core.signatures import sign, verify_signer
from tests.factories import PASSWORD, ProductFactory

IS_POSTGRES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not IS_POSTGRES, reason="needs PostgreSQL (SQLite serialises writers)"),
    pytest.mark.django_db(transaction=True),
]


def test_a_signing_waits_for_the_one_in_progress_and_links_to_it(users):
    """R-SIG-3: while one signing's transaction is open, a second one (another process) waits for
    the chain head and links to the first — never to the same predecessor (a fork)."""
    signer = users["qa_reviewer"]
    first_product, second_product = (ProductFactory(last_changed_by=users["admin"]) for _ in range(2))
    first_signed = threading.Event()
    results: dict[str, Signature] = {}
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = sign(
                    credential=verify_signer(user=signer, password=PASSWORD), record=first_product, meaning="reviewed"
                )
                first_signed.set()
                time.sleep(0.5)  # the second signing starts meanwhile and must wait
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
            first_signed.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            first_signed.wait(5)
            results["second"] = sign(
                credential=verify_signer(user=signer, password=PASSWORD), record=second_product, meaning="reviewed"
            )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    assert results["second"].previous_hash == results["first"].record_hash
    report = integrity.run()
    assert report.ok, [str(f) for f in report.findings]
