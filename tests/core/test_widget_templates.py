"""The project's inlined widget templates (select, input, radios and checkboxes) (issue 12: an include per option cost ~40 µs) write the
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
    answer = forms.ChoiceField(choices=[("yes", "符合"), ("no", "不符合 <!>")], widget=forms.RadioSelect)
    ticks = forms.MultipleChoiceField(
        choices=[("a", "A"), ("Grouped", [("b", "B"), ("c", "C")])], widget=forms.CheckboxSelectMultiple, required=False
    )
    text = forms.CharField(max_length=20)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    flag = forms.BooleanField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)


def _normal(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


@pytest.mark.parametrize(
    "name", ["kind", "many", "number", "answer", "ticks", "text", "day", "flag", "secret", "hidden"]
)
@pytest.mark.parametrize(
    "data",
    [
        None,
        {
            "kind": "g2",
            "many": ["1", "3"],
            "number": "2",
            "answer": "no",
            "ticks": ["a", "c"],
            "text": 'say "hi" & <bye>',
            "day": "2026-12-01",
            "flag": "on",
            "secret": "pw",
            "hidden": "h&1",
        },
        {"kind": "nonsense", "number": "x", "answer": "maybe", "text": "x" * 30, "day": "not a date"},
    ],
    ids=["unbound", "chosen", "invalid"],
)
def test_the_inlined_widgets_write_what_djangos_write(name, data):
    """R-UX-2: same options, values, labels (escaped), groups, selection, checked boxes and
    attributes (ids that labels point at, aria, required) as Django's own templates."""
    form = Sample(data)
    if data:
        form.is_valid()
    widget = form.fields[name].widget
    widget.attrs.update({"aria-invalid": "true", "data-x": 'q"uote', "disabled": False, "required": True})
    ours = form[name].as_widget(attrs={"aria-describedby": "help"})
    form.renderer = DjangoTemplates()
    theirs = form[name].as_widget(attrs={"aria-describedby": "help"})
    assert "<option" in ours or "<input" in ours
    assert _normal(ours) == _normal(theirs)


def test_the_project_renderer_reads_the_inlined_select():
    """Guard for the test above: the project renderer finds the project's template, not Django's."""
    renderer = get_default_renderer()
    assert isinstance(renderer, BootstrapFormRenderer)
    assert (
        "written here instead of included" in renderer.get_template("django/forms/widgets/select.html").template.source
    )
