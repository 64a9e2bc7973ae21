"""Helpers shared by the core machinery tests (accounts, signatures, audit trail)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test import Client


def english_client() -> Client:
    """A client that chose English with the language switcher (the site default is 简体中文).

    Pages are asserted in English; the Chinese default is covered by the locale tests.
    """
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def raw_sql_refused(sql: str, params: list | tuple = ()) -> str:
    """Run one raw statement that the database must refuse; return the database's message.

    The savepoint keeps the test's transaction usable on PostgreSQL after the error.
    """
    with pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
    return str(excinfo.value)


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


@contextmanager
def deferred_loads():
    """The fields loaded one row at a time inside the block, as ``(model label, field)``: a field
    left out by ``.only()`` / ``.defer()`` and then read costs a query per row (issue 12)."""
    from django.db.models import Model

    loaded: list[tuple[str, str]] = []
    original = Model.refresh_from_db

    def recording(self, using=None, fields=None, from_queryset=None):
        for name in fields or ["(every field)"]:
            loaded.append((self._meta.label, name))
        return original(self, using=using, fields=fields, from_queryset=from_queryset)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Model, "refresh_from_db", recording)
        yield loaded
