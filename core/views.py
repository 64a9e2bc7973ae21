from __future__ import annotations

from datetime import date, datetime, time, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import audit_trail, work
from core.auth import NEW_ACCOUNT, SENT_BY_EMAIL, client_ip, unlock_user
from core.forms import (
    DocumentCodeForm,
    DocumentUploadForm,
    Form,
    LinkSetPasswordForm,
    LoginForm,
    OwnPasswordChangeForm,
)
from core.models import AuthEvent, Document
from core.pdf import check_document, normalise_code, sha256_of_upload
from core.permissions import get_object_for_user, require_perm
from core.roles import ROLE_LABELS
from core.signatures import signatures_for
from core.storage import StoredFileAltered, altered_response, read_verified
from core.web import csv_line_writer


def my_work(request: HttpRequest) -> HttpResponse:
    """Each role's landing page: what waits for them, oldest first (R-UX-3)."""
    names = request.user.groups.order_by("name").values_list("name", flat=True)
    roles = [str(ROLE_LABELS.get(name, name)) for name in names]
    return render(request, "core/my_work.html", {"queues": work.queues_for(request.user), "roles": roles})


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    # LoginView would put the request's host name in "site_name"; keep the product's name.
    extra_context = {"site_name": settings.SITE_NAME}
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = OwnPasswordChangeForm
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("core:my_work")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        from core.forms import _bootstrap

        for f in form.fields.values():
            _bootstrap(f.widget)
        return form

    def form_valid(self, form):
        user = form.user
        user.must_change_password = False
        user._change_reason = "password changed by its owner"
        response = super().form_valid(form)  # saves the user (new password, flag) and keeps the session
        AuthEvent.objects.create(kind=AuthEvent.Kind.PASSWORD_CHANGED, username=user.username, user=user)
        messages.success(self.request, _("Your password has been changed."))
        return response


class ResetLinkView(auth_views.PasswordResetConfirmView):
    """The person chooses their password with the one-time link from an administrator's reset.

    Works once (the token is bound to the unusable password it replaces) and expires after
    PASSWORD_RESET_TIMEOUT. The event records the address it was used from, which the resets
    page compares with the administrator's.
    """

    form_class = LinkSetPasswordForm
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("login")
    post_reset_login = False

    @method_decorator(login_not_required)  # overriding dispatch drops the parent's marker
    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponse:
        """Refused to the administrator who issued the link, while signed in (issue 8 item 6): they
        would choose the password of the person they reset and could then sign as them (R-SIG-5).
        The refusal is a security event, flagged on the "Password resets" page."""
        target = self.get_user(kwargs.get("uidb64", ""))
        user = self.request.user
        if target is not None and user.is_authenticated:
            issuer = (
                AuthEvent.objects.filter(kind=AuthEvent.Kind.PASSWORD_RESET, user=target)
                .order_by("-at", "-id")
                .values_list("actor_id", flat=True)
                .first()
            )
            if issuer == user.pk:
                AuthEvent.objects.create(
                    kind=AuthEvent.Kind.RESET_LINK_REFUSED,
                    username=target.username,
                    user=target,
                    actor=user,
                    ip_address=client_ip(self.request),
                    detail=ISSUER_REFUSED,
                )
                return render(self.request, "registration/reset_link_refused.html", {"target": target}, status=403)
        return super().dispatch(*args, **kwargs)

    def form_valid(self, form):
        user = form.user
        user.must_change_password = False
        user._change_reason = "password chosen with the one-time link"
        response = super().form_valid(form)
        AuthEvent.objects.create(
            kind=AuthEvent.Kind.PASSWORD_CHANGED,
            username=user.username,
            user=user,
            ip_address=client_ip(self.request),
            detail=LINK_USED,
        )
        messages.success(self.request, _("Your password has been set. Sign in with it."))
        return response


LINK_USED = "chosen with the one-time link"
ISSUER_REFUSED = "refused: opened while signed in as the administrator who issued it"


def password_resets(request: HttpRequest) -> HttpResponse:
    """Every administrator's password reset, who used the link and from where (R-AUTH-5): QA and
    the auditor see when an account may have been taken over by the person who reset it."""
    if not request.user.has_perm("core.view_audit_trail"):
        require_perm(request, "core.view_authevent")
    page = Paginator(
        AuthEvent.objects.filter(kind=AuthEvent.Kind.PASSWORD_RESET).select_related("user", "actor"), 50
    ).get_page(request.GET.get("page"))
    resets = list(page)
    events = list(
        AuthEvent.objects.filter(user_id__in={r.user_id for r in resets})
        .filter(Q(kind=AuthEvent.Kind.PASSWORD_CHANGED, detail=LINK_USED) | Q(kind=AuthEvent.Kind.RESET_LINK_REFUSED))
        .select_related("actor")
        .order_by("at", "id")
    )
    rows = []
    for reset in resets:
        later = [e for e in events if e.user_id == reset.user_id and e.at >= reset.at]
        use = next((e for e in later if e.kind == AuthEvent.Kind.PASSWORD_CHANGED), None)
        # The issuing administrator opened the link while signed in (refused): flagged (issue 8 item 6).
        refused = [e for e in later if e.kind == AuthEvent.Kind.RESET_LINK_REFUSED and (not use or e.at <= use.at)]
        same_address = bool(use and use.ip_address and use.ip_address == reset.ip_address)
        rows.append(
            {
                "reset": reset,
                "use": use,
                "same_address": same_address,
                "refused": refused,
                "new_account": reset.detail.startswith(NEW_ACCOUNT),
                # Resets before links were mailed name neither: their link was shown to the administrator.
                "emailed": reset.detail.endswith(SENT_BY_EMAIL),
                "shown": not reset.detail.endswith(SENT_BY_EMAIL),
            }
        )
    return render(request, "core/password_resets.html", {"rows": rows, "page_obj": page})


# --- audit trail -------------------------------------------------------------------------------


class AuditSearchForm(Form):
    record_type = forms.ChoiceField(label=gettext_lazy("Record type"), required=False)
    # Typed, not a list of every account: a plant has hundreds of people, and a list of them all
    # would be rendered on every search (issue 12).
    user = forms.CharField(
        label=gettext_lazy("User"),
        required=False,
        max_length=150,
        help_text=gettext_lazy("The username, e.g. qc_analyst."),
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["record_type"].choices = [("", _("All record types"))] + [
            (key, str(base._meta.verbose_name)) for key, base, _hm in audit_trail.record_types()
        ]

    # A date at the calendar's edge (0001-01-01, 9999-12-31) cannot be turned into a UTC instant
    # in the site's time zone; such dates are typing mistakes, refused beside the field (R-UX-2).
    EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)

    def _plausible(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if value is not None and not self.EARLIEST <= value <= self.LATEST:
            raise forms.ValidationError(
                _("Enter a date between %(start)s and %(end)s.")
                % {"start": self.EARLIEST.isoformat(), "end": self.LATEST.isoformat()}
            )
        return value

    def clean_user(self) -> Any:
        username = self.cleaned_data.get("user", "").strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username__iexact=username).first()
        if user is None:
            raise forms.ValidationError(_("No account has the username %(name)s.") % {"name": username})
        return user

    def clean_date_from(self) -> date | None:
        return self._plausible("date_from")

    def clean_date_to(self) -> date | None:
        return self._plausible("date_to")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def to_filter(self) -> audit_trail.SearchFilter:
        tz = timezone.get_current_timezone()
        d = self.cleaned_data
        start = timezone.make_aware(datetime.combine(d["date_from"], time.min), tz) if d.get("date_from") else None
        end = (
            timezone.make_aware(datetime.combine(d["date_to"] + timedelta(days=1), time.min), tz)
            if d.get("date_to")
            else None
        )
        return audit_trail.SearchFilter(
            record_key=d.get("record_type") or "",
            user_id=d["user"].pk if d.get("user") else None,
            date_from=start,
            date_to=end,
        )


def audit_rows_html(entries: list[audit_trail.AuditEntry]) -> SafeString:
    """The audit search's table rows, every value escaped (``html.escape``, as Django's ``escape``):
    time, who, record type, the record (linked to its history), action, the first six changes
    (old → new) and the reason. Built here, not by a template loop: fifty entries of up to six
    changes took the template engine ~8 ms of every page (issue 12)."""
    from core.templatetags.core_tags import local_dt

    rows = []
    for e in entries:
        who = escape(e.printed_name or "—") + (f" ({escape(e.username)})" if e.username else "")
        changes = "".join(
            f"<div>{escape(str(c.label))}: "
            + (f'<span class="audit-old">{escape(str(c.old))}</span> → ' if c.old else "")
            + f'<span class="audit-new">{escape(str(c.new))}</span></div>'
            for c in e.changes[:6]
        )
        if len(e.changes) > 6:
            changes += '<div class="text-muted">…</div>'
        rows.append(
            f'<tr><td class="text-nowrap">{escape(local_dt(e.when))}</td><td>{who}</td>'
            f"<td>{escape(e.record_type)}</td>"
            f'<td><a href="{escape(e.history_url)}">{escape(str(e.record_label))}</a></td>'
            f'<td>{escape(e.action_label)}</td><td class="small">{changes}</td>'
            f"<td>{escape(str(e.reason_display or '—'))}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308  every value above is escaped


def audit_search(request: HttpRequest) -> HttpResponse:
    """Every change to every GMP record, filterable by user, record type and date (R-AT-5).

    Paged by keyset (``after`` = the last entry shown, issue 12): page 1,000 costs what page 1 does.
    """
    require_perm(request, "core.view_audit_trail")
    form = AuditSearchForm(request.GET or None)
    entries: list[audit_trail.AuditEntry] = []
    next_cursor = None
    cursor = audit_trail.Cursor.decode(request.GET.get("after", ""))
    if form.is_bound and form.is_valid():
        flt = form.to_filter()
    elif form.is_bound and set(request.GET) <= {"after"}:
        flt = audit_trail.SearchFilter()
    elif form.is_bound:
        flt = None
    else:
        flt = audit_trail.SearchFilter()
    if flt is not None:
        entries, next_cursor = audit_trail.search_page(flt, cursor)
    # Each row's link to its record's history, from one reverse(): fifty {% url %} tags took ~3 ms
    # of the page (issue 12). The record key ("app.model") and id need no escaping in a path, but
    # are quoted as reverse() would.
    pattern = reverse("core:record_history", args=["MODEL-KEY", "0"])
    head, _sep, tail = pattern.partition("MODEL-KEY/0")
    for entry in entries:
        entry.history_url = f"{head}{quote(entry.record_key)}/{quote(str(entry.object_id))}{tail}"
    query = request.GET.copy()
    query.pop("after", None)
    query.pop("page", None)
    return render(
        request,
        "core/audit_search.html",
        {
            "form": form,
            "entries": entries,
            "rows_html": audit_rows_html(entries),
            "not_first": cursor is not None,
            "next_cursor": next_cursor.encode() if next_cursor else "",
            "query": query.urlencode(),
        },
    )


def audit_export(request: HttpRequest) -> HttpResponse:
    require_perm(request, "core.view_audit_trail")
    form = AuditSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("Correct the search before exporting."))
        return redirect(f"{reverse_lazy('core:audit_search')}?{request.GET.urlencode()}")
    flt = form.to_filter() if form.is_bound else audit_trail.SearchFilter()

    writer = csv_line_writer()

    def cell(value: object) -> object:
        # A value typed by a user that starts like a formula must stay text in a spreadsheet.
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
            return "'" + value
        return value

    def rows():
        yield "\ufeff"  # so that spreadsheet programs open the Chinese text as UTF-8
        yield writer.writerow(
            [
                _("Time"),
                _("Time zone"),
                _("Username"),
                _("Printed name"),
                _("Record type"),
                _("Record"),
                _("Record id"),
                _("Action"),
                _("Field"),
                _("Old value"),
                _("New value"),
                _("Reason for change"),
            ]
        )
        tzname = cell(timezone.get_current_timezone_name())
        record_types: dict[type, object] = {}  # each model's name, translated once
        actions = {key: cell(str(label)) for key, label in audit_trail.ACTION_LABELS.items()}
        buffer: list[str] = []
        size = 0
        for e in audit_trail.iter_search(flt):
            record_type = record_types.get(e.model)
            if record_type is None:
                record_type = record_types[e.model] = cell(e.record_type)
            head = [
                timezone.localtime(e.when).strftime("%Y-%m-%d %H:%M:%S"),
                tzname,
                cell(e.username),
                cell(e.printed_name),
                record_type,
                cell(e.record_label),
                cell(e.object_id),
                actions.get(e.action) or cell(e.action_label),
            ]
            reason = cell(e.reason_display)
            if not e.changes:
                line = writer.writerow(head + ["", "", "", reason])
                buffer.append(line)
                size += len(line)
            for c in e.changes:
                line = writer.writerow(head + [cell(c.label), cell(c.old), cell(c.new), reason])
                buffer.append(line)
                size += len(line)
            # Lines sent in pieces of about 64 KB, not one by one (the same bytes, far fewer writes).
            if size >= 65536:
                yield "".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield "".join(buffer)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    return response


def record_history(request: HttpRequest, model_key: str, pk: str) -> HttpResponse:
    """One record's whole life: each change (who, when, old → new, why) and each signature."""
    found = audit_trail.history_model_for(model_key)
    if found is None:
        raise Http404
    base, _hm = found
    meta = base._meta
    # Auditors and QA read every record's trail; others need at least read access to the record.
    if not request.user.has_perm("core.view_audit_trail"):
        require_perm(request, f"{meta.app_label}.view_{meta.model_name}")
    try:
        pk_value = meta.pk.to_python(pk)
    except Exception:
        raise Http404 from None
    record = base._base_manager.filter(pk=pk_value).first()
    entries = audit_trail.record_timeline(base, pk_value)
    if record is None and not entries:
        raise Http404
    sigs = signatures_for(record) if record is not None else []
    timeline: list[tuple[datetime, str, Any]] = [(e.when, "change", e) for e in entries]
    timeline += [(s.signed_at, "signature", (s, ok)) for s, ok in sigs]
    timeline.sort(key=lambda t: t[0])
    return render(
        request,
        "core/record_history.html",
        {
            "record": record,
            "model_name": meta.verbose_name,
            "model_key": model_key,
            "pk": pk_value,
            "timeline": timeline,
            "record_url": record.get_absolute_url()
            if record is not None and hasattr(record, "get_absolute_url")
            else "",
        },
    )


# --- integrity check -------------------------------------------------------------------------


@require_GET
def integrity(request: HttpRequest) -> HttpResponse:
    """The integrity check for QA and the auditor: the same report as ``manage.py verify_integrity``,
    run now over the most recent ``INTEGRITY_PAGE_LIMIT`` rows of each kind (the nightly command
    checks everything, with the whole chain and the legacy seal)."""
    require_perm(request, "core.view_audit_trail")
    from core import integrity as checks

    report = checks.run(limit=settings.INTEGRITY_PAGE_LIMIT)
    return render(request, "core/integrity.html", {"report": report, "limit": settings.INTEGRITY_PAGE_LIMIT})


# --- accounts administration ------------------------------------------------------------------


def locked_users(request: HttpRequest) -> HttpResponse:
    """Locked accounts (administrators unlock them) and the security event log (auditors read it)."""
    if not request.user.has_perm("core.unlock_user"):
        require_perm(request, "core.view_authevent")
    users = get_user_model().objects.filter(locked_at__isnull=False).order_by("locked_at")
    events = Paginator(AuthEvent.objects.select_related("user", "actor").order_by("-at", "-id"), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "core/locked_users.html",
        {"users": users, "events": events, "can_unlock": request.user.has_perm("core.unlock_user")},
    )


@require_POST
def unlock(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_for_user(request, get_user_model(), pk, "core.unlock_user")
    if not user.is_locked:
        messages.info(request, _("%(user)s is not locked.") % {"user": user.username})
    else:
        unlock_user(user=user, by=request.user, request=request)
        messages.success(request, _("%(user)s has been unlocked.") % {"user": user.username})
    return redirect("core:locked_users")


# --- issued documents -------------------------------------------------------------------------


def may_view_document_record(user, document: Document) -> bool:
    """Who may open an issued document's file and data: whoever may view its record."""
    if user.has_perm("core.view_audit_trail"):
        return True
    ct = document.content_type
    perm = f"{ct.app_label}.view_{ct.model}"
    if user.has_perm(perm):
        return True
    record = document.record
    return record is not None and user.has_perm(perm, record)


def get_document_for_download(request: HttpRequest, pk: int) -> Document:
    document = Document.objects.select_related("content_type").filter(pk=pk).first()
    if document is None:
        raise Http404
    if not may_view_document_record(request.user, document):
        raise PermissionDenied
    return document


def _compare_upload(request: HttpRequest) -> tuple[DocumentUploadForm, dict[str, Any] | None]:
    """Hash an uploaded copy and find the issued documents with the same SHA-256 (nothing is kept)."""
    if request.method != "POST":
        return DocumentUploadForm(), None
    form = DocumentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return form, None
    upload = form.cleaned_data["file"]
    digest = sha256_of_upload(upload)
    matches = list(Document.objects.filter(sha256=digest).select_related("issued_by").order_by("issued_at"))
    return DocumentUploadForm(), {"name": upload.name, "sha256": digest, "matches": matches}


@require_http_methods(["GET", "POST"])
def document_lookup(request: HttpRequest) -> HttpResponse:
    """Check a document by its printed verification code, or by uploading a copy of the file."""
    code_form = DocumentCodeForm(request.GET or None)
    if code_form.is_bound and code_form.is_valid():
        return redirect("core:document_verify", code=code_form.cleaned_data["code"])
    upload_form, upload_result = _compare_upload(request)
    status = 400 if upload_form.is_bound and upload_form.errors else 200
    return render(
        request,
        "core/document_lookup.html",
        {"code_form": code_form, "upload_form": upload_form, "upload_result": upload_result},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def document_verify(request: HttpRequest, code: str) -> HttpResponse:
    """Is this issued document intact: file unchanged, signatures still valid, still current?

    R-SIG-3 on paper: the verification code or QR code on a PDF leads here. The stored file is
    re-hashed, each printed signature is re-verified against its signature row, and a newer
    version (a correction) is pointed out.
    """
    document = (
        Document.objects.select_related("issued_by", "content_type", "supersedes")
        .filter(verification_code=normalise_code(code))
        .first()
    )
    if document is None:
        # A mistyped or invented code: say so on the lookup page, with the code kept to correct.
        code_form = DocumentCodeForm({"code": code})
        code_form.is_valid()
        code_form.add_error(
            "code" if "code" in code_form.fields else None,
            _("No document was issued with the code %(code)s. Check the code printed on the document.")
            % {"code": code},
        )
        return render(
            request,
            "core/document_lookup.html",
            {"code_form": code_form, "upload_form": _compare_upload(request)[0], "upload_result": None},
            status=404,
        )
    upload_form, upload_result = _compare_upload(request)
    if upload_result is not None:
        upload_result["matches_this"] = upload_result["sha256"] == document.sha256
    may_view = may_view_document_record(request.user, document)
    record = document.record if may_view else None
    status = 400 if upload_form.is_bound and upload_form.errors else 200
    return render(
        request,
        "core/document_verify.html",
        {
            "document": document,
            "check": check_document(document),
            "may_view": may_view,
            "record_url": record.get_absolute_url()
            if record is not None and hasattr(record, "get_absolute_url")
            else "",
            "upload_form": upload_form,
            "upload_result": upload_result,
        },
        status=status,
    )


@require_GET
def document_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The PDF exactly as issued (its SHA-256 is in a header, to compare with the verify page)."""
    document = get_document_for_download(request, pk)
    try:
        handle = read_verified(document.file, document.sha256)
    except FileNotFoundError:
        raise Http404 from None
    except StoredFileAltered:
        return altered_response()
    label = "-".join(p for p in (document.kind, document.number, f"v{document.version}") if p)
    response = FileResponse(handle, content_type="application/pdf", filename=f"{label}.pdf")
    response["X-Document-SHA256"] = document.sha256
    return response


@require_GET
def document_data(request: HttpRequest, pk: int) -> HttpResponse:
    """The frozen data the PDF was built from, signatures included, as JSON (R-REC-3)."""
    document = get_document_for_download(request, pk)
    payload = {
        "kind": document.kind,
        "number": document.number,
        "version": document.version,
        "verification_code": document.verification_code,
        "sha256": document.sha256,
        "issued_at": document.issued_at.isoformat(),
        "issued_by": document.issued_by.username,
        "template": document.template_name,
        "context": document.context,
    }
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'inline; filename="{document.kind}-v{document.version}.json"'
    return response


# --- error pages (both languages, no debug detail) ---------------------------------------------


@login_not_required
def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.html", status=403)


@login_not_required
def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


@login_not_required
def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that could fail again; the template is self-contained.
    from django.template import loader

    return HttpResponse(loader.get_template("errors/500.html").render({}), status=500)
