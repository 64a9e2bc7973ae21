"""The markup of the project's form, field and common widget templates, written in Python.

Every form on every page goes through the template engine several times per field: the form
template, the field template (label, errors, help), then the widget's template. On the QC record
page that was ~10 % of the request (two signing forms, ten fields; issue 12). The functions here
produce, character for character, what these templates produce:

- ``includes/form.html`` and ``includes/field.html`` (core.forms.BootstrapFormRenderer's);
- ``django/forms/widgets/input.html`` (the project's copy) and every Django widget template that is
  only ``{% include "django/forms/widgets/input.html" %}`` (text, password, number, date, hidden,
  checkbox …);
- ``django/forms/widgets/textarea.html`` (Django's), ``select.html`` and ``multiple_input.html``
  (the project's copies) with radio.html / checkbox_select.html, which only include the latter.

The templates stay the reference: ``tests/core/test_form_html.py`` renders every form the project
has, bound and unbound, and a set of edge-case widgets, both ways and requires the same HTML. A
template changed without its function here fails that test; a template not listed here (the
clearable file input, the date widgets of a MultiWidget, any form with its own template) is still
rendered by the template engine.

Values are converted and escaped as the template engine does: ``{{ value }}`` is localized and
passed through ``conditional_escape`` (a ``SafeString`` is kept as it is), ``|stringformat:'s'`` is
``"%s" % value`` with the same treatment of safe input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.timezone import template_localtime


def text(value: Any) -> str:
    """``{{ value }}`` with autoescaping (django.template.base.render_value_in_context)."""
    value = localize(template_localtime(value))
    if not issubclass(type(value), str):
        value = str(value)
    return conditional_escape(value)


def formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}`` with autoescaping."""
    if isinstance(value, tuple):
        value = str(value)
    try:
        result = "%s" % value  # noqa: UP031  the filter's own formatting
    except (ValueError, TypeError):
        return ""
    if isinstance(value, SafeData):  # the filter is is_safe: safe in, safe out
        result = mark_safe(result)
    return conditional_escape(result)


def attrs(attributes: Mapping[str, Any]) -> str:
    """django/forms/widgets/attrs.html: ``False`` leaves the attribute out, ``True`` writes its name."""
    out = []
    for name, value in attributes.items():
        if value is False:
            continue
        out.append(f" {text(name)}" if value is True else f' {text(name)}="{formatted(value)}"')
    return "".join(out)


def _value(value: Any) -> str:
    return "" if value is None else f' value="{formatted(value)}"'


def input_html(context: Mapping[str, Any]) -> str:
    w = context["widget"]
    return f'<input type="{text(w["type"])}" name="{text(w["name"])}"{_value(w["value"])}{attrs(w["attrs"])}>'


def textarea_html(context: Mapping[str, Any]) -> str:
    w = context["widget"]
    value = text(w["value"]) if w["value"] else ""
    return f'<textarea name="{text(w["name"])}"{attrs(w["attrs"])}>\n{value}</textarea>'


def select_html(context: Mapping[str, Any]) -> str:
    w = context["widget"]
    out = [f'<select name="{text(w["name"])}"{attrs(w["attrs"])}>']
    for group_name, group_choices, _index in w["optgroups"]:
        if group_name:
            out.append(f'\n  <optgroup label="{text(group_name)}">')
        for option in group_choices:
            out.append(
                f'\n  <option value="{formatted(option["value"])}"{attrs(option["attrs"])}>{text(option["label"])}</option>'
            )
        if group_name:
            out.append("\n  </optgroup>")
    out.append("\n</select>")
    return "".join(out)


def multiple_input_html(context: Mapping[str, Any]) -> str:
    w = context["widget"]
    widget_id = w["attrs"].get("id")
    css = w["attrs"].get("class")
    out = ["<div"]
    if widget_id:
        out.append(f' id="{text(widget_id)}"')
    if css:
        out.append(f' class="{text(css)}"')
    out.append(">")
    for group, options, _index in w["optgroups"]:
        if group:
            out.append(f"\n  <div><label>{text(group)}</label>")
        for option in options:
            out.append("<div>\n    ")
            wrap = option["wrap_label"]
            if wrap:
                option_id = option["attrs"].get("id")
                out.append(f'<label for="{text(option_id)}">' if option_id else "<label>")
            out.append(
                f'<input type="{text(option["type"])}" name="{text(option["name"])}"'
                f"{_value(option['value'])}{attrs(option['attrs'])}>\n"
            )
            if wrap:
                out.append(f" {text(option['label'])}</label>")
            out.append("</div>")
        if group:
            out.append("\n  </div>")
    out.append("\n</div>")
    return "".join(out)


def _errors(errors) -> str:
    return "".join(f'<div class="invalid-feedback d-block">{text(error)}</div>' for error in errors)


def field_html(context: Mapping[str, Any]) -> str:
    """includes/field.html."""
    field = context["field"]
    help_text = field.help_text
    help_html = f'<div class="form-text">{text(help_text)}</div>' if help_text else ""
    if field.widget_type == "checkbox":
        return (
            '<div class="form-check mb-3">\n'
            f"  {text(field)}\n"
            f'  <label class="form-check-label" for="{text(field.auto_id)}">{text(field.label)}</label>\n'
            f"  {help_html}\n"
            f"  {_errors(field.errors)}\n"
            "</div>"
        )
    required = " required" if field.field.required else ""
    return (
        '<div class="mb-3">\n'
        f'  <label class="form-label{required}" for="{text(field.auto_id)}">{text(field.label)}</label>\n'
        f"  {text(field)}\n"
        f"  {help_html}\n"
        f"  {_errors(field.errors)}\n"
        "</div>"
    )


def form_html(context: Mapping[str, Any]) -> str:
    """includes/form.html."""
    form = context["form"]
    errors = form.non_field_errors()
    top = (
        '<div class="alert alert-danger" role="alert">'
        + "".join(f"<div>{text(error)}</div>" for error in errors)
        + "</div>"
        if errors
        else ""
    )
    hidden = "".join(text(field) for field in form.hidden_fields())
    visible = "".join(text(field.as_field_group()) for field in form.visible_fields())
    return f"{top}\n{hidden}\n{visible}".strip()


# Django's widget templates whose whole source is ``{% include "django/forms/widgets/input.html" %}``.
INPUT_FAMILY = (
    "checkbox",
    "color",
    "date",
    "datetime",
    "email",
    "file",
    "hidden",
    "number",
    "password",
    "search",
    "tel",
    "text",
    "time",
    "url",
)

RENDERERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "includes/form.html": form_html,
    "includes/field.html": field_html,
    "django/forms/widgets/input.html": input_html,
    **{f"django/forms/widgets/{name}.html": input_html for name in INPUT_FAMILY},
    "django/forms/widgets/textarea.html": textarea_html,
    "django/forms/widgets/select.html": select_html,
    "django/forms/widgets/multiple_input.html": multiple_input_html,
    "django/forms/widgets/radio.html": multiple_input_html,
    "django/forms/widgets/checkbox_select.html": multiple_input_html,
}


def render(template_name: str, context: Mapping[str, Any]) -> SafeString | None:
    """The template's markup, or None for a template not written here (the engine renders it)."""
    function = RENDERERS.get(template_name)
    if function is None:
        return None
    return mark_safe(function(context).strip())  # noqa: S308  every value is escaped above
