"""core.form_html writes the form, field and widget markup the templates would (issue 12; R-UX-2).

The form fuzz test (tests/test_form_fuzz.py) compares every form of every page a role reaches,
unbound and bound to generated input. Here: a form with every kind of widget the project uses and
the values that differ between careless code and the template engine — markup in labels, help,
values and errors (escaped unless marked safe), None and booleans as attributes, numbers and dates
(localized as the engine does), option groups, lazy translations."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core import form_html
from core.forms import Form
from tests.form_markup import compare_with_templates

GROUPED = [("水 <系统>", [(1, "纯化水 & 注射用水"), (2, "饮用水")]), (3, '其他 "other"')]


class EveryWidget(Form):
    name = forms.CharField(label="Name & <code>", help_text="<b>not bold</b>", max_length=20)
    trusted = forms.CharField(required=False, help_text=mark_safe("<em>safe help</em>"))
    password = forms.CharField(widget=forms.PasswordInput, label=gettext_lazy("Password"))
    amount = forms.DecimalField(max_digits=8, decimal_places=3, required=False)
    count = forms.IntegerField(required=False, disabled=True, initial=1234567)
    tested_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    agreed = forms.BooleanField(required=True, label="I agree <b>")
    optional_box = forms.BooleanField(required=False, initial=True)
    kind = forms.ChoiceField(choices=GROUPED, required=False)
    kinds = forms.MultipleChoiceField(choices=GROUPED, required=False)
    verdict = forms.ChoiceField(choices=GROUPED, widget=forms.RadioSelect)
    checks = forms.MultipleChoiceField(choices=GROUPED, widget=forms.CheckboxSelectMultiple, required=False)
    flat = forms.ChoiceField(choices=[("", "—"), ("a", "A"), ("b", 'B "quoted"')], widget=forms.RadioSelect)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "data-none": None}), required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False, initial='a"b<c>')
    bare = forms.CharField(required=False, widget=forms.TextInput(attrs={"readonly": True, "hidden": False}))

    def clean(self):
        raise ValidationError("<script>alert('whole form')</script>")


@pytest.fixture
def compared(monkeypatch):
    return compare_with_templates(monkeypatch)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_widget_unbound_is_the_templates_markup(compared, language):
    with translation.override(language):
        html = str(
            EveryWidget(
                initial={
                    "name": "<script>x</script>",
                    "trusted": mark_safe("<i>kept</i>"),
                    "amount": Decimal("1234.500"),
                    "tested_on": datetime.date(2026, 12, 2),
                    "kind": 2,
                    "kinds": [1, 3],
                    "verdict": 3,
                    "checks": [2],
                    "note": "line 1\n<script>alert(1)</script>",
                }
            )
        )
    assert compared >= {
        "includes/form.html",
        "includes/field.html",
        "django/forms/widgets/text.html",
        "django/forms/widgets/password.html",
        "django/forms/widgets/number.html",
        "django/forms/widgets/date.html",
        "django/forms/widgets/checkbox.html",
        "django/forms/widgets/select.html",
        "django/forms/widgets/radio.html",
        "django/forms/widgets/checkbox_select.html",
        "django/forms/widgets/textarea.html",
        "django/forms/widgets/hidden.html",
    }
    # What a person (and a screen reader) gets: values escaped, labels tied to their inputs.
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in html
    assert 'value="<i>kept</i>"' in html  # marked safe by the code that set it: as the engine does
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in html
    assert 'value="a&quot;b&lt;c&gt;"' in html
    assert '<label class="form-label required" for="id_name">Name &amp; &lt;code&gt;</label>' in html
    assert '<div class="form-text">&lt;b&gt;not bold&lt;/b&gt;</div>' in html
    assert '<div class="form-text"><em>safe help</em></div>' in html
    assert '<optgroup label="水 &lt;系统&gt;">' in html
    assert '<option value="2" selected>饮用水</option>' in html
    assert 'data-none="None"' in html and " readonly" in html and "hidden" not in html.split('name="bare"')[1][:60]


def test_every_widget_bound_with_errors_is_the_templates_markup(compared):
    form = EveryWidget(
        {
            "name": "x" * 30,
            "password": "",
            "amount": "1e400",
            "tested_on": "2026-02-30",
            "kind": "9",
            "verdict": "<b>",
            "checks": ["2", "3"],
            "note": "\x00",
        }
    )
    assert not form.is_valid()
    html = str(form)
    assert {"includes/form.html", "includes/field.html"} <= compared
    assert html.startswith('<div class="alert alert-danger" role="alert"><div>&lt;script&gt;')
    assert 'aria-invalid="true"' in html and "is-invalid" in html
    field_errors = sum(len(errors) for name, errors in form.errors.items() if name != "__all__")
    assert html.count('<div class="invalid-feedback d-block">') == field_errors
    assert "&lt;b&gt; 不在可用的选项中" in html or "&lt;b&gt; is not one of the available choices" in html


def test_non_field_errors_and_hidden_fields_are_the_templates_markup(compared):
    form = EveryWidget(
        {"name": "n", "password": "p", "agreed": "on", "verdict": "1", "flat": "a", "token": '"><script>'}
    )
    assert not form.is_valid()
    html = str(form)
    assert html.startswith(
        '<div class="alert alert-danger" role="alert"><div>&lt;script&gt;alert(&#x27;whole form&#x27;)&lt;/script&gt;</div></div>'
    )
    assert (
        '<input type="hidden" name="token" value="&quot;&gt;&lt;script&gt;" class="form-control" id="id_token">' in html
    )
    assert "includes/form.html" in compared


def test_a_template_not_written_in_python_is_left_to_the_engine():
    """The clearable file input (and any form with a template of its own) is rendered as before."""
    assert form_html.render("django/forms/widgets/clearable_file_input.html", {}) is None

    class Upload(Form):
        file = forms.FileField()

    html = str(Upload())
    assert '<input type="file" name="file"' in html and 'class="form-control"' in html
