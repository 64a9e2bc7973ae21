"""The top navigation fits a 1280-pixel window in English (R-UX-3, WCAG 2.1 AA 1.4.10 reflow):
no menu item is cut off or pushed outside the window, for the people with the longest menus."""

from __future__ import annotations

import pytest

from tests.browser.test_release_path import sign_in

pytestmark = pytest.mark.browser

PEOPLE = ["quality_head", "qa_reviewer", "qualified_person", "recall_coordinator", "auditor"]


@pytest.mark.parametrize("username", PEOPLE)
def test_every_menu_item_is_inside_a_1280_pixel_window_in_english(new_page, app_url, screenshot_dir, username):
    page = new_page()
    sign_in(page, app_url, username)
    page.screenshot(path=screenshot_dir / f"nav-{username}.png")
    width = page.evaluate("document.documentElement.clientWidth")
    boxes = page.locator("#main-nav .nav-link, #main-nav [data-testid=current-user]").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [e.textContent.trim(), r.left, r.right]; })"
    )
    assert len(boxes) > 3, boxes
    outside = [label for label, left, right in boxes if left < 0 or right > width]
    assert outside == [], f"outside the {width}px window: {outside}"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
