"""The project's inlined widget templates (issue 12: an include per option cost ~40 µs) write the
same markup as Django's own (R-UX-2: labels, selected and disabled options, errors' attributes)."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates, get_default_renderer

from core.forms import BootstrapFormRenderer


class Sample(forms.Form):
    kind = forms.ChoiceField(
        choices=[("", "All"), ("a&b", "A & <b>"), ("Group", [("g1", "In a group"), ("g2", "Also grouped")])]
    )
    many = forms.MultipleChoiceField(choices=[(1, "one"), (2, "two"), (3, "three")], required=False)
    number = forms.TypedChoiceField(choices=[(1, "one"), (2, "two")], coerce=int)


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize("name", ["kind", "many", "number"])
@pytest.mark.parametrize(
    "data",
    [None, {"kind": "g2", "many": ["1", "3"], "number": "2"}, {"kind": "nonsense", "number": "x"}],
    ids=["unbound", "chosen", "invalid"],
)
def test_the_inlined_select_writes_what_djangos_select_writes(name, data):
    """R-UX-2: same options, values, labels (escaped), groups, selection and attributes."""
    form = Sample(data)
    if data:
        form.is_valid()
    widget = form.fields[name].widget
    widget.attrs.update({"aria-invalid": "true", "data-x": 'q"uote', "disabled": False, "required": True})
    ours = form[name].as_widget(attrs={"aria-describedby": "help"})
    form.renderer = DjangoTemplates()
    theirs = form[name].as_widget(attrs={"aria-describedby": "help"})
    assert "<option" in ours
    assert _normal(ours) == _normal(theirs)


def test_the_project_renderer_reads_the_inlined_select():
    """Guard for the test above: the project renderer finds the project's template, not Django's."""
    renderer = get_default_renderer()
    assert isinstance(renderer, BootstrapFormRenderer)
    assert (
        "written here instead of included" in renderer.get_template("django/forms/widgets/select.html").template.source
    )
