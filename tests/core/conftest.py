"""Fixtures of the core machinery tests; shared helpers live in tests/core/helpers.py."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.core.helpers import english_client


@pytest.fixture
def anon() -> Client:
    return english_client()


@pytest.fixture
def client_language() -> str:
    """Core pages are read in English in these tests (``client_for`` in tests/conftest.py sets
    the language cookie, as a person choosing English with the language switcher would); the
    Chinese default is covered by the locale tests."""
    return "en"
