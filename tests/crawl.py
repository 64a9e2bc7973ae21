"""Crawling the demo site as a person would: from My work through its own links, collecting every
POST form (used by the form fuzz test and the signing-meaning test)."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from io import StringIO
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.management import call_command
from django.test import Client

MAX_PAGES_PER_ROLE = 100
PAGES_PER_SHAPE = 3  # records in different states show different forms
# Links that leave the site, end the session or answer with a file, not a page.
SKIP = re.compile(
    r"/(accounts/logout|admin/|i18n/|jsi18n/|static/|media/)|\.(pdf|csv|json)$|/(download|export|report)/?"
)


class PageForms(HTMLParser):
    """The links and the POST forms of a page (field names, select options, hidden values)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea]["value"] += data

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and (a.get("method") or "get").lower() == "post":
            self._form = {"action": a.get("action") or "", "fields": {}, "hidden": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            name = a["name"]
            if name == "csrfmiddlewaretoken":
                return
            kind = (a.get("type") or tag).lower()
            if kind == "hidden":
                self._form["hidden"][name] = a.get("value") or ""
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form["fields"].setdefault(name, {"kind": kind, "options": [], "value": ""})
            else:
                self._form["fields"].setdefault(name, {"kind": kind, "options": [], "value": a.get("value") or ""})
                self._form["fields"][name]["value"] = self._form["fields"][name]["value"] or a.get("value") or ""
            if kind == "radio":
                self._form["fields"][name]["options"].append(a.get("value") or "")
            if tag == "select":
                self._select = name
            elif tag == "textarea":
                self._textarea = name
        elif tag == "option" and self._select and self._form is not None:
            field = self._form["fields"][self._select]
            field["options"].append(a.get("value") or "")
            if "selected" in a:
                field["value"] = a.get("value") or ""
                field.setdefault("selected", []).append(a.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def client_as(username: str) -> Client:
    from core.models import User

    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(User.objects.get(username=username))
    return client


def shape(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def crawl(client: Client) -> dict[str, tuple[str, dict]]:
    """{action URL: (page it was found on, form)} for every POST form reachable from My work; one
    page of each shape (``/qc/records/N/``) is enough to reach its forms."""
    seen, forms = set(), {}
    shapes: dict[str, int] = {}
    queue = deque(["/"])
    while queue and len(seen) < MAX_PAGES_PER_ROLE:
        url = queue.popleft()
        if url in seen or shapes.get(shape(url), 0) >= PAGES_PER_SHAPE:
            continue
        seen.add(url)
        shapes[shape(url)] = shapes.get(shape(url), 0) + 1
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        parser = PageForms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            action = urljoin(url, form["action"] or url)
            path = urlsplit(action).path
            if not SKIP.search(path) and shape(path) not in {shape(p) for p in forms}:
                forms[path] = (url, form)
        for href in parser.links:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc or SKIP.search(parts.path) or shapes.get(shape(parts.path), 0) >= PAGES_PER_SHAPE:
                continue
            # One example of each list page is enough: page 2… and filters lead to the same forms.
            queue.append(parts.path)
    return forms


def seed_with_drafts() -> None:
    """The demo data, plus a draft specification (its test-item forms show only on drafts)."""
    from core.models import User
    from qc_records import services
    from qc_records.models import Specification

    call_command("seed_demo", stdout=StringIO())
    spec = Specification.objects.filter(status=Specification.Status.APPROVED).order_by("pk").first()
    if spec is not None and not Specification.objects.filter(code=spec.code, status="draft").exists():
        services.specification_new_version(spec=spec, user=User.objects.get(username="qc_head"))


def demo_password() -> str:
    """The demo users' password (``seed_demo``)."""
    import os

    from core.management.commands.seed_demo import DEFAULT_PASSWORD

    return os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
