"""Settings for the test suite: the production settings file, plus what only tests may use.

Nothing in config/settings.py knows about tests (issue 6): the suite's shortcuts live here.
"""

import os

# A key for the test run only (config/settings.py refuses to start without one unless DEBUG).
os.environ.setdefault("SECRET_KEY", "test-suite-only-key-never-deployed-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SIGNATURE_KEY", "test-suite-only-signature-key-never-deployed-0123456789")
# The address printed on the PDFs of the test run (required outside DEBUG, issue 7).
os.environ.setdefault("SITE_URL", "http://testserver")

from config.settings import *  # noqa: E402, F403
from config.settings import STORAGES  # noqa: E402

# Tests create many users; PBKDF2's deliberate slowness would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# No collectstatic for the test run (the browser server serves from the finders).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# Background jobs run at once in the test process (after commit: core.jobs.enqueue_issue), so a
# test sees the issued document without a worker; tests of the database queue switch it on.
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# A failed render is retried without pausing in the test run.
DOCUMENTS_ISSUE_RETRY_SECONDS = 0

# Files the suite writes (issued PDFs, attachments) go to a directory of this test process's own:
# with pytest-xdist each worker has its own database, so the same document number can be issued
# by two workers at once and must not land on the same path.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

if "MEDIA_ROOT" not in os.environ:  # the browser server is given its own
    MEDIA_ROOT = Path(
        tempfile.mkdtemp(prefix=f"releasedesk-test-media-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
    )
    atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
