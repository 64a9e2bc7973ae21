from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.forms.renderers import TemplatesSetting
from django.utils.translation import gettext_lazy as _

from core import form_html
from core.models import Signature


class BootstrapFormRenderer(TemplatesSetting):
    """Bootstrap 5 markup for every form: errors beside each field (R-UX-2). The form, field and
    common widget templates are produced by core.form_html (the same markup, without the template
    engine: issue 12); any other template is rendered by the engine as usual."""

    form_template_name = "includes/form.html"
    field_template_name = "includes/field.html"

    def render(self, template_name, context, request=None):
        html = form_html.render(template_name, context)
        return html if html is not None else super().render(template_name, context, request)


def _bootstrap(widget: forms.Widget) -> None:
    if isinstance(widget, (forms.CheckboxInput,)):
        css = "form-check-input"
    elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
        return
    elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
        css = "form-select"
    else:
        css = "form-control"
    existing = widget.attrs.get("class", "")
    if css not in existing.split():
        widget.attrs["class"] = f"{existing} {css}".strip()


class BootstrapMixin:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():  # type: ignore[attr-defined]
            _bootstrap(field.widget)

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in getattr(self, "errors", {}):
            if name in self.fields:  # type: ignore[attr-defined]
                widget = self.fields[name].widget  # type: ignore[attr-defined]
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"


class Form(BootstrapMixin, forms.Form):
    pass


class ModelForm(BootstrapMixin, forms.ModelForm):
    pass


def reason_field(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Reason for change"),
        required=required,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail with your name and the time."),
        error_messages={"required": _("Give a reason for the change: it is recorded in the audit trail.")},
    )


class ReasonForm(Form):
    reason = reason_field()


class SignatureForm(Form):
    """Password re-entry and comment for one electronic signature (R-SIG-1)."""

    password = forms.CharField(
        label=_("Your password (to sign)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Enter your password to sign.")},
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, meaning: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meaning = meaning

    @property
    def meaning_label(self) -> str:
        return Signature.Meaning(self.meaning).label if self.meaning else ""


class SignWithReasonForm(SignatureForm):
    reason = reason_field()
    field_order = ["reason", "password", "comment"]


class LoginForm(BootstrapMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "locked": _("This account is locked after too many failed sign-ins. Ask a system administrator to unlock it."),
    }

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except forms.ValidationError:
            from django.contrib.auth import get_user_model

            username = self.cleaned_data.get("username") or ""
            user = get_user_model().objects.filter(username__iexact=username).first()
            if user is not None and user.is_locked:
                raise forms.ValidationError(self.error_messages["locked"], code="locked") from None
            raise


class OwnPasswordChangeForm(PasswordChangeForm):
    """The person's own change. After an administrator's reset, keeping the temporary password
    would leave the administrator knowing it (R-AUTH-5): the new one must differ."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        new = data.get("new_password1")
        if new and "new_password1" not in self.errors and self.user.check_password(new):
            self.add_error("new_password1", _("The new password must be different from the current one."))
        return data


class LinkSetPasswordForm(BootstrapMixin, SetPasswordForm):
    """The person's own password, chosen with the one-time link of an administrator's reset."""


class DocumentCodeForm(Form):
    """The verification code printed at the foot of every page of an issued document."""

    code = forms.CharField(
        label=_("Verification code"),
        max_length=40,
        help_text=_("As printed at the foot of each page, e.g. ABCD-EFGH-IJKL-MNOP."),
    )

    def clean_code(self) -> str:
        from core.pdf import normalise_code

        code = normalise_code(self.cleaned_data["code"])
        if len(code) != 16:
            raise forms.ValidationError(_("A verification code has 16 letters and digits."))
        return code


class DocumentUploadForm(Form):
    """A copy of a PDF (printed and scanned copies cannot match: only the file as issued does)."""

    MAX_SIZE = 50 * 1024 * 1024

    file = forms.FileField(
        label=_("Copy of the PDF"),
        help_text=_("The file is only compared with the documents on record, not kept."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_SIZE:
            raise forms.ValidationError(_("The file is larger than 50 MB; no issued document is that large."))
        return upload
