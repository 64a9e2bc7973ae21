from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.auth import NEW_ACCOUNT, ResetLinkNotSent, issue_reset_link
from core.models import AuthEvent, Document, Reminder, Signature, User


class HistoryAdmin(SimpleHistoryAdmin):
    """Shows a record's history in admin; never restores an old version from it.

    SIMPLE_HISTORY_REVERT_DISABLED only hides the button: a POST to the history form view still
    saved the old version, which for users undid a lockout without the audited unlock (R-AUTH-3)
    and for GMP records bypassed the workflow (refused only by the reason-for-change guard, as a
    server error).
    """

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class NoWritesMixin:
    """Readable in admin, never added, changed or deleted there."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(NoWritesMixin, admin.ModelAdmin):
    """Audit records (signatures, security events, documents)."""


class ReadOnlyHistoryAdmin(NoWritesMixin, HistoryAdmin):
    """GMP records: read in admin with their history; every change goes through the workflow
    pages (services), and the history pages never restore an old version."""


class AccountCreationForm(forms.ModelForm):
    """A new account as an administrator creates it: no password field at all. The account starts
    with an unusable password and its owner chooses one with a one-time link, as after a reset
    (R-AUTH-5, R-SIG-5; issue 8 item 6): no administrator ever types a password that works."""

    class Meta:
        model = User
        fields = ("username", "full_name", "groups")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            # R-AUTH-4: said beside the field rather than failing in the database.
            raise forms.ValidationError(_("A user with that username already exists."))
        return username

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        user.must_change_password = True
        if commit:
            user.save()
            self.save_m2m()
        return user


@admin.register(User)
class UserAdmin(HistoryAdmin, DjangoUserAdmin):
    list_display = ("username", "full_name", "is_active", "locked_at", "must_change_password", "last_login")
    list_filter = ("is_active", "groups")
    # must_change_password is set by the system (new account, administrator's reset) and cleared
    # only by the person choosing their own password: an administrator who could untick it after a
    # reset would know the password the person keeps using (R-AUTH-5).
    readonly_fields = ("failed_login_count", "locked_at", "must_change_password", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("full_name", "first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "groups", "must_change_password", "failed_login_count", "locked_at")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_form = AccountCreationForm
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "full_name", "groups")}),)
    actions = None

    def has_delete_permission(self, request, obj=None) -> bool:
        # R-AUTH-4: deactivate, never delete; a deleted username could be issued again.
        return False

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            # A new account starts with a password its owner must replace at first sign-in.
            obj.must_change_password = True
        obj._change_reason = "changed in administration" if change else "created in administration"
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # R-AUTH-4: a username, once issued, stays with its person (the model refuses a rename too).
            fields.append("username")
        if not request.user.is_superuser:
            # Only a superuser may make superusers or grant single permissions outside the roles.
            fields += ["is_superuser", "user_permissions", "is_staff"]
        if obj is not None and obj.pk == request.user.pk:
            # Nobody changes their own roles: an administrator who could move themselves into QA
            # could sign GMP records (R-SIG-5) with no second person involved.
            fields += ["groups", "is_active"]
        return fields

    def response_add(self, request, obj, post_url_continue=None):
        """The new account's one-time link: mailed to the person, or shown once on this response
        when the account has no e-mail address (like a reset's)."""
        context = {
            **self.admin_site.each_context(request),
            "title": _("New account: %(user)s") % {"user": obj.username},
            "target": obj,
            "opts": self.opts,
            "new_account": True,
            **self._issue(request, obj, detail=NEW_ACCOUNT),
        }
        return TemplateResponse(request, "admin/core/user/reset_password.html", context)

    def _issue(self, request, target, **kwargs) -> dict:
        try:
            link = issue_reset_link(user=target, by=request.user, request=request, **kwargs)
        except ResetLinkNotSent as exc:
            return {"issued": False, "mail_error": str(exc) or exc.__class__.__name__}
        return {"issued": True, "link": link, "sent_to": "" if link else target.email}

    def user_change_password(self, request, id, form_url=""):
        """An administrator's reset issues a one-time link instead of a password the administrator
        would know (R-AUTH-5, issue 8 item 6): mailed to the person, or shown once on the POST's
        response when the account has no e-mail address."""
        target = self.get_object(request, id)
        if target is None:
            raise Http404
        if not self.has_change_permission(request, target):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Reset password: %(user)s") % {"user": target.username},
            "target": target,
            "opts": self.opts,
            "issued": False,
        }
        if request.method == "POST":
            context.update(self._issue(request, target))
        return TemplateResponse(request, "admin/core/user/reset_password.html", context)


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ("signed_at", "printed_name", "meaning", "record_label")
    list_filter = ("meaning",)
    search_fields = ("printed_name", "record_label")


@admin.register(AuthEvent)
class AuthEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "kind", "username", "actor", "ip_address")
    list_filter = ("kind",)
    search_fields = ("username",)


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("issued_at", "kind", "number", "version", "record_label", "issued_by")
    list_filter = ("kind",)
    search_fields = ("number", "verification_code", "record_label", "sha256")
    # Files are served only through the permission-checked download view, never from MEDIA_URL.
    exclude = ("file",)


@admin.register(Reminder)
class ReminderAdmin(ReadOnlyAdmin):
    """Who was reminded of what, and when (core.reminders): read-only, like the security events."""

    list_display = ("sent_at", "item_label", "threshold", "recipients")
    search_fields = ("item_label", "threshold", "recipients")
    exclude = ("content_type", "object_id")
