"""Shared fixtures: one user per role (plus a second QA reviewer for segregation-of-duties tests)."""

from __future__ import annotations

import pytest
from django.test import Client

from core.roles import ALL_ROLES
from tests.factories import PASSWORD, ProductFactory, UserFactory


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def make_user(db):
    def make(*roles: str, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def users(make_user) -> dict:
    """{role: user} with one user per role, usernames equal to the role name."""
    return {role: make_user(role, username=role) for role in ALL_ROLES}


@pytest.fixture
def qa_reviewer(users):
    return users["qa_reviewer"]


@pytest.fixture
def qa_reviewer2(make_user):
    return make_user("qa_reviewer", username="qa_reviewer2")


@pytest.fixture
def admin_user(users):
    return users["admin"]


@pytest.fixture
def auditor(users):
    return users["auditor"]


@pytest.fixture
def production_reviewer(users):
    return users["production_reviewer"]


@pytest.fixture
def client_language() -> str | None:
    """The language ``client_for`` chooses with the language cookie (None: the site's default).
    A test package overrides it, e.g. tests/qc_records reads its pages in English."""
    return None


@pytest.fixture
def client_for(client_language):
    """A test client signed in as the given user (in ``client_language`` if set)."""
    from django.conf import settings

    def make(user) -> Client:
        client = Client()
        if client_language:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = client_language
        client.force_login(user)
        return client

    return make


@pytest.fixture
def draft_product(admin_user):
    return ProductFactory(last_changed_by=admin_user)


@pytest.fixture
def approved_product(draft_product, qa_reviewer):
    """A product approved through the real service (with its signature)."""
    from release import services

    return services.product_approve(product=draft_product, user=qa_reviewer, password=PASSWORD)


# Tests that share one expensive setup run together on one pytest-xdist worker (bin/test's
# --dist loadgroup): the browser tests start one server (migrate + seed + gunicorn), the backup
# tests build one source database. pytest 9.2 no longer lets xdist 3.8 mark a group by renaming
# the item (``item._nodeid``), so ``xdist_group`` markers alone no longer group anything; the
# scheduler below groups by path instead, and deals every other test out one by one in order.
SHARED_SETUP_GROUPS = {
    "tests/browser/": "browser",
    "tests/core/test_backup_restore.py": "backup_restore",
    # modules reading one demo seeded for the whole module (demo_seeded_module below)
    "tests/test_seed_demo.py": "seed_demo",
    "tests/aftersales/test_demo_and_my_work.py": "aftersales_demo",
    "tests/qc_records/test_demo.py": "qc_demo",
    "tests/test_form_fuzz.py": "form_fuzz",
}


def shared_setup_group(nodeid: str) -> str | None:
    return next((group for prefix, group in SHARED_SETUP_GROUPS.items() if nodeid.startswith(prefix)), None)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SharedSetupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return shared_setup_group(nodeid) or super()._split_scope(nodeid)

    return SharedSetupScheduling(config, log)


@pytest.fixture(scope="module")
def demo_seeded_module(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """``seed_demo`` run once for a whole test module (it takes 10–40 s), inside a transaction that
    is rolled back when the module ends, as ``TestCase.setUpTestData`` does for a class. Each test
    still runs in its own savepoint (``django_db``), so what one test writes, the next does not
    see. Modules using it are listed in SHARED_SETUP_GROUPS so their tests run on one worker. A
    module may name its own seeding function as ``SEED_DEMO`` (e.g. the demo plus drafts)."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import transaction
    from django.test import override_settings

    with (
        django_db_blocker.unblock(),
        pytest.MonkeyPatch.context() as patch,
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")),
    ):
        patch.delenv("DEMO_PASSWORD", raising=False)
        outer = transaction.atomic()
        outer._from_testcase = True  # as TestCase's own: durable blocks inside stay allowed
        outer.__enter__()
        try:
            seed = getattr(request.module, "SEED_DEMO", None)
            if seed is None:
                call_command("seed_demo", stdout=StringIO())
            else:
                seed()
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def site_language():
    """Every test starts in the site's default language (zh-hans), whatever an earlier test or
    request left active in the thread: a test that reads English outside a request says so
    (``translation.override("en")`` or its package's ``english`` fixture)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()
