"""Browser-test fixtures: the real application in its own process, and Debian's Chromium.

Playwright drives ``/usr/lib/chromium/chromium`` (the Debian package that ``bin/test`` installs);
it never downloads a browser of its own. Without that binary the browser tests are skipped.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The password every demo user gets in the browser server (passed to seed_demo as DEMO_PASSWORD).
DEMO_PASSWORD = "Browser-Test-2026!"
SERVER_START_TIMEOUT = 30  # seconds


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed ({CHROMIUM} missing; bin/test installs it)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(workdir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # Deployment settings of the calling shell must not leak into the throw-away server.
        if k not in {"CSRF_TRUSTED_ORIGINS", "SQLITE_TEST_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'releasedesk.sqlite3'}",  # absolute path: sqlite:////tmp/...
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        SITE_URL="http://127.0.0.1",  # replaced by the server's address once its port is chosen (app_url)
        ALLOWED_HOSTS="127.0.0.1",
        WHITENOISE_USE_FINDERS="true",
        HTTPS="false",
        BEHIND_PROXY="false",
        TIME_ZONE="Asia/Shanghai",
        LOCKOUT_THRESHOLD="5",
        SESSION_IDLE_TIMEOUT_MINUTES="30",
        STATIC_ROOT=str(workdir / "static"),
        MEDIA_ROOT=str(workdir / "media"),
        DEMO_PASSWORD=DEMO_PASSWORD,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {' '.join(args)} failed for the browser server:\n{result.stdout}\n{result.stderr}")


def _wait_until_up(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the browser server exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with opener.open(url + "/accounts/login/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the browser server did not answer within {SERVER_START_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def app_url(browser_server) -> str:
    return browser_server[0]


@pytest.fixture(scope="session")
def server_manage(browser_server):
    """Run a ``manage.py`` command against the browser server's own database (scenario data a
    path starts from that no page makes, e.g. ``shell -c``)."""
    env = browser_server[1]
    return lambda *args: _manage(env, *args)


@pytest.fixture(scope="session")
def browser_server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """Base URL of Release Desk served by gunicorn, as in production, on a free 127.0.0.1 port,
    and the environment it runs with (``server_manage`` runs commands against its database).

    Why a separate process and not pytest-django's ``live_server``: ``live_server`` flushes the
    tables after each test, and the append-only triggers on history and signature tables refuse
    that DELETE. The server therefore gets its OWN fresh database — a temporary SQLite file, even
    when ``DATABASE_URL`` points the rest of the suite at PostgreSQL. That keeps the browser tests
    independent of the test database (no shared rows, no flush) and needs no extra PostgreSQL
    database; the PostgreSQL-specific behaviour is covered by the in-process tests.

    The child runs ``migrate`` and ``seed_demo`` (demo users named after their roles, password
    ``DEMO_PASSWORD``), then gunicorn. It runs with ``tests.settings`` on purpose:
    those use plain static-file storage (WhiteNoise serves from the finders, so no
    ``collectstatic``, which takes ~20 s) and a fast password hasher. Otherwise it runs with
    production settings: DEBUG off, a random SECRET_KEY, ALLOWED_HOSTS, Asia/Shanghai.

    Scenario data is made through the UI by the tests themselves; tests sharing this server see
    each other's changes, so each test works on its own records. The server's process group is
    always killed at the end of the session.
    """
    require_chromium()
    workdir = tmp_path_factory.mktemp("browser-server")
    env = _server_env(workdir)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env["SITE_URL"] = url  # required outside DEBUG; the demo's PDFs print it (issue 7)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "seed_demo", "-v", "0")
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_up(url, proc, log_path)
            yield url, env
        finally:
            # start_new_session: the group id is gunicorn's pid; this ends its workers too.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium. Module scope: Playwright's sync API keeps an event loop running
    in this thread, which would make Django refuse database access in later, in-process tests."""
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report on the test item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def new_page(request, browser, screenshot_dir):
    """Open a page in a fresh browser context (own cookies); closed after the test.

    ``new_page(locale="en-US")`` sets the browser's language (its Accept-Language header); the site
    ignores it and shows 简体中文 until the person picks a language with the switcher.
    If the test fails, every open page is saved as ``FAILED-<test>-<n>.png`` in ``screenshot_dir``.
    """
    contexts = []

    def make(locale: str = "en-US"):
        context = browser.new_context(
            locale=locale, timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    report = getattr(request.node, "rep_call", None)
    pages = [page for context in contexts for page in context.pages]
    if report is not None and report.failed:
        for n, page in enumerate(pages, start=1):
            path = screenshot_dir / f"FAILED-{request.node.name}-{n}.png"
            try:
                page.screenshot(path=path, full_page=True)
                print(f"screenshot of the page at failure ({page.url}): {path}")
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"no screenshot of {page.url}: {exc}")
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where the browser tests save screenshots of key steps (``BROWSER_SCREENSHOT_DIR`` or a temp dir)."""
    configured = os.environ.get("BROWSER_SCREENSHOT_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("browser-screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path
