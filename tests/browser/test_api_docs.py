"""The integration API's docs page works in a real browser under the site's Content-Security-Policy
(R-API-1: a browsable docs page served locally, no CDN): Swagger UI loads the schema and lists the
endpoints, and the browser reports no blocked script or style."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_release_path import sign_in

pytestmark = pytest.mark.browser


def test_the_api_docs_page_lists_the_endpoints_with_nothing_blocked(new_page, app_url):
    page = new_page()
    refused = []
    page.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    outside = []
    page.on("request", lambda req: outside.append(req.url) if not req.url.startswith(app_url) else None)
    sign_in(page, app_url, "qa_reviewer")
    page.goto(app_url + "/api/v1/docs/")
    expect(page.get_by_text("/api/v1/batches/{id}/gate/").first).to_be_visible()
    expect(page.get_by_text("/api/v1/shipments/").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"  # docs.css applied
    assert refused == []
    assert outside == []
