"""Checking core.form_html against the templates it replaces (issue 12): a renderer that produces
every form, field and widget both ways and fails on the first difference."""

from __future__ import annotations

import difflib

from django.forms.renderers import TemplatesSetting

from core import form_html
from core.forms import BootstrapFormRenderer


def compare_with_templates(monkeypatch) -> set[str]:
    """Patch the project's form renderer so that each template core.form_html writes is also
    rendered by the template engine, and the two must be equal. Nested parts (the fields of a form,
    the widget of a field) are compared where they are rendered, so a form's template is compared
    with fields already known to be equal. Returns the set of template names compared so far."""
    reference = TemplatesSetting()
    original = BootstrapFormRenderer.render
    compared: set[str] = set()

    def render(self, template_name, context, request=None):
        html = original(self, template_name, context, request)
        if template_name in form_html.RENDERERS:
            expected = reference.render(template_name, context, request)
            if html != expected:
                diff = "\n".join(difflib.unified_diff(expected.splitlines(), html.splitlines(), lineterm=""))
                raise AssertionError(f"core.form_html differs from {template_name}:\n{diff}")
            compared.add(template_name)
        return html

    monkeypatch.setattr(BootstrapFormRenderer, "render", render)
    return compared
