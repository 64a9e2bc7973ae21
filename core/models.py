from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, AuditError, audited_history
from core.hashing import canonical, sha256_json, sha256_stored


class UserQuerySet(AuditedQuerySet):
    """Accounts have a history like GMP records: no update()/bulk writes that would skip it (e.g.
    clearing ``locked_at`` without the audited unlock), and no deletes."""

    def delete(self):  # type: ignore[override]
        raise AuditError("Users are deactivated, never deleted (usernames are never reused).")

    delete.queryset_only = True  # type: ignore[attr-defined]


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    """A person who uses Release Desk. Never deleted: deactivate instead (R-AUTH-4)."""

    full_name = models.CharField(
        _("full name (printed on signatures)"),
        max_length=150,
        blank=True,
        help_text=_("The name shown on every electronic signature, e.g. 张三."),
    )
    failed_login_count = models.PositiveIntegerField(_("failed logins in a row"), default=0, editable=False)
    locked_at = models.DateTimeField(_("locked at"), null=True, blank=True, editable=False)
    must_change_password = models.BooleanField(
        _("must change password at next login"),
        default=False,
        help_text=_("Set when an administrator resets the password."),
    )
    # A connected system (ERP, WMS, LIMS) reaching the integration API with a token (R-API-1):
    # never signs in to pages and never signs (core.signatures refuses it whatever its roles),
    # because an electronic signature is a person's act (21 CFR 11.100, 11.200).
    is_system_account = models.BooleanField(
        _("system account (integration API)"),
        default=False,
        editable=False,
        help_text=_("A connected system that calls the API with a token; it can never sign in to pages or sign."),
    )

    AUDIT_LABEL_FIELD = "username"

    objects = UserManager()
    history = audited_history(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        # Django internals and related-object access use the base manager: it must refuse
        # deletes as well, or ``User._base_manager.filter(...).delete()`` would remove a person.
        base_manager_name = "objects"
        constraints = [
            # "zhang" and "Zhang" are the same person on a signature: refuse both.
            models.UniqueConstraint(Lower("username"), name="core_user_username_ci_unique"),
        ]
        permissions = [
            ("unlock_user", _("Can see locked accounts and unlock them")),
            ("view_audit_trail", _("Can read the audit trail of every record")),
        ]

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("Users are deactivated, never deleted (usernames are never reused).")

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Remembered so that save() can refuse a rename (see there).
        instance._loaded_username = getattr(instance, "username", None) if "username" in field_names else None
        return instance

    def save(self, *args: Any, **kwargs: Any) -> None:
        # R-AUTH-4: a username is never reused. Renaming "zhang" to "zhang.old" would free "zhang"
        # for a new person, and signatures and history by the first one would read as the second's.
        loaded = getattr(self, "_loaded_username", None)
        update_fields = kwargs.get("update_fields")
        if (
            not self._state.adding
            and loaded is not None
            and (update_fields is None or "username" in update_fields)
            and self.username != loaded
        ):
            raise AuditError("Usernames are never changed or reused: deactivate the account and create a new one.")
        # Sign-ins and failed passwords are recorded as AuthEvents; a history row per last_login or
        # failure-counter update would bury the changes that matter (roles, activation, lockout)
        # in noise, and would let anyone grow a person's history by typing wrong passwords.
        counters_only = {"last_login", "failed_login_count"}
        if update_fields and set(update_fields) <= counters_only:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        super().save(*args, **kwargs)
        self._loaded_username = self.username

    @property
    def printed_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_system_admin(self) -> bool:
        """System administrators manage users and master data and never sign GMP records."""
        from core.roles import ADMIN

        return self.is_superuser or self.groups.filter(name=ADMIN).exists()

    def role_names(self) -> list[str]:
        return sorted(g.name for g in self.groups.all())


# Details the system writes on security events (stored in English, shown in the reader's language).
AUTH_EVENT_DETAILS = {
    gettext_noop("too many failed passwords in a row"),
    gettext_noop("wrong signing password"),
    gettext_noop("must be changed at next sign-in"),
    gettext_noop("unlocked by password reset"),
    gettext_noop("one-time link issued"),
    gettext_noop("new account: one-time link issued"),
    gettext_noop("refused: opened while signed in as the administrator who issued it"),
    gettext_noop("chosen with the one-time link"),
}


class AuthEvent(models.Model):
    """Security events: logins, failures, lockouts, unlocks, refused signing passwords (R-AUTH-3)."""

    APPEND_ONLY = True

    class Kind(models.TextChoices):
        LOGIN = "login", _("Signed in")
        LOGIN_FAILED = "login_failed", _("Failed sign-in")
        LOGOUT = "logout", _("Signed out")
        LOCKED = "locked", _("Account locked")
        UNLOCKED = "unlocked", _("Account unlocked")
        SIGNATURE_FAILED = "signature_failed", _("Signing password refused")
        SIGNATURE_REFUSED = "signature_refused", _("Signing refused")
        PASSWORD_CHANGED = "password_changed", _("Password changed")
        PASSWORD_RESET = "password_reset", _("Password reset by administrator")
        RESET_LINK_REFUSED = "reset_link_refused", _("One-time link refused")
        # Annex 11 §12.3: granting and withdrawing access authorisations is recorded.
        ROLES_CHANGED = "roles_changed", _("Roles changed")
        # R-OPS-1: a database brought back from a backup says so in its own records.
        RESTORED = "restored", _("Database restored from a backup")
        # R-API-1: a connected system's API token issued or revoked by an administrator.
        API_TOKEN_ISSUED = "api_token_issued", _("API token issued")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")

    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    username = models.CharField(_("username entered"), max_length=150)
    user = models.ForeignKey(
        "core.User", verbose_name=_("user"), null=True, blank=True, on_delete=models.PROTECT, related_name="auth_events"
    )
    actor = models.ForeignKey(
        "core.User", verbose_name=_("done by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    objects = AuditedQuerySet.as_manager()

    @property
    def detail_display(self) -> str:
        return gettext(self.detail) if self.detail in AUTH_EVENT_DETAILS else self.detail

    class Meta:
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        ordering = ["-at", "-id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError("Security events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("Security events are append-only.")


def signed_content(record: models.Model) -> dict[str, Any]:
    """The record's signed fields in canonical form (``SIGNED_FIELDS`` on the model)."""
    fields = getattr(type(record), "SIGNED_FIELDS", None)
    if not fields:
        raise AuditError(f"{type(record).__name__} declares no SIGNED_FIELDS and cannot be signed.")
    content: dict[str, Any] = {}
    for name in fields:
        field = record._meta.get_field(name)
        content[name] = canonical(getattr(record, field.attname))
    return content


def _follow(record: models.Model, path: str) -> Any:
    """The value at ``path``: a field name, or ``link.field`` through foreign keys (a missing link
    gives None). The last part is read by its column (``batch`` → ``batch_id``).

    A name in the model's ``DERIVED_STATE`` is read as the record's attribute instead: a value
    computed from rows that hang off the record (a recall's batches, its reconciliation totals),
    which a signature must vouch for although no column of the record holds it."""
    if path in getattr(type(record), "DERIVED_STATE", {}):
        return getattr(record, path)
    obj: Any = record
    parts = path.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    field = obj._meta.get_field(parts[-1])
    return getattr(obj, field.attname)


def signed_state(record: models.Model) -> dict[str, Any]:
    """What the record *is* when signed, beyond its content: status, verdict, numbers, who did each
    step and the identity of linked records (``SIGNED_STATE`` on the model, dotted paths follow
    links: ``sample.batch`` is the batch of the record's sample). Stored on the signature and
    covered by its keyed hash; ``core.integrity.state_problems`` compares it with the record now
    (issue 8: a verdict flipped or a sample moved to another batch by SQL is reported)."""
    return {path: canonical(_follow(record, path)) for path in getattr(type(record), "SIGNED_STATE", ())}


class SignatureQuerySet(AuditedQuerySet):
    def for_record(self, record: models.Model) -> SignatureQuerySet:
        ct = ContentType.objects.get_for_model(record, for_concrete_model=True)
        return self.filter(content_type=ct, object_id=record.pk)


class Signature(models.Model):
    """One electronic signing event (21 CFR 11.50 / 11.70). Never updated or deleted."""

    APPEND_ONLY = True

    class Meaning(models.TextChoices):
        AUTHORED = "authored", _("Prepared")
        TESTED = "tested", _("Tested")
        REVIEWED = "reviewed", _("Reviewed")
        APPROVED = "approved", _("Approved")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", _("Rejected")
        VERIFIED = "verified", _("Verified")
        CLOSED = "closed", _("Closed")
        VOIDED = "voided", _("Voided")
        UNLOCKED = "unlocked", _("Unlocked")
        PURGED = "purged", _("Raw data destroyed after retention")
        # ZL-086 4.1: QA applies the release stamp "药品经质量受权人批准准予放行" as its own act.
        STAMPED = "stamped", _("Release stamp applied")
        # 药品不良反应报告和监测管理办法: the case was reported to the national system.
        REPORTED = "reported", _("Reported to the authority")
        LIFTED = "lifted", _("Hold lifted")
        # 检验原始记录管理规程 4.3.2: a month's records are archived (归档), not "closed".
        ARCHIVED = "archived", _("Archived")
        # R-CMP-1 "place a hold?": QA's decision that put the batch on hold, on its own record.
        HOLD_PLACED = "hold_placed", _("Hold placed")
        # R-RET-1 / GMP 第一百三十七条: returned goods destroyed under supervision (监督销毁), and
        # returned goods put back into saleable stock — not a generic "Verified".
        DESTROYED = "destroyed", _("Destroyed")
        RESTOCKED = "restocked", _("Returned to saleable stock")

    signer = models.ForeignKey(
        "core.User", verbose_name=_("signer"), on_delete=models.PROTECT, related_name="signatures"
    )
    printed_name = models.CharField(_("printed name"), max_length=150)
    meaning = models.CharField(_("meaning"), max_length=32, choices=Meaning.choices)
    signed_at = models.DateTimeField(_("signed at"), db_index=True)
    comment = models.TextField(_("comment"), blank=True)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    record_label = models.CharField(_("record"), max_length=255)
    record_hash = models.CharField(_("keyed hash of the signed record"), max_length=64)
    # Empty on legacy rows (plain SHA-256, made before keyed signing; see core.keys and README).
    key_id = models.CharField(_("signing key"), max_length=16, blank=True)
    # The record_hash of the signature before this one (by id): a removed or inserted row breaks the chain.
    previous_hash = models.CharField(_("previous signature's hash"), max_length=64, blank=True)
    # The record's SIGNED_STATE when signed (keyed rows only; covered by the hash).
    state = models.JSONField(_("record state when signed"), default=dict, blank=True, null=True)

    objects = SignatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("electronic signature")
        verbose_name_plural = _("electronic signatures")
        ordering = ["signed_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.printed_name} · {self.get_meaning_display()} · {self.signed_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError("Signatures are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("Signatures are never deleted.")

    # The hash binds the signer, meaning and time to *this* record's identity and content, so a
    # signature row copied onto another record, or a record edited after signing (even by raw
    # SQL), no longer verifies (R-SIG-3). Keyed rows use HMAC-SHA256 with a key that is not in the
    # database and also cover the printed name, comment and the previous signature's hash, so a
    # row cannot be forged, altered or removed from the chain by someone with database access only.
    @staticmethod
    def compute_hash(
        *,
        record: models.Model,
        signer_id: int,
        meaning: str,
        signed_at: datetime,
        key_id: str = "",
        previous_hash: str = "",
        printed_name: str = "",
        comment: str = "",
        state: dict[str, Any] | None = None,
    ) -> str | None:
        payload = {
            "record": record._meta.label_lower,
            "pk": record.pk,
            "fields": signed_content(record),
            "signer": signer_id,
            "meaning": meaning,
            "signed_at": canonical(signed_at),
        }
        if not key_id:
            # Legacy formula (before keyed signatures): kept only to verify rows made with it.
            return sha256_json(payload)
        from core import keys

        payload.update(previous=previous_hash, printed_name=printed_name, comment=comment, key=key_id)
        if state:
            payload["state"] = state
        return keys.hmac_json(key_id, payload)

    def expected_hash(self, record: models.Model) -> str | None:
        return self.compute_hash(
            record=record,
            signer_id=self.signer_id,
            meaning=self.meaning,
            signed_at=self.signed_at,
            key_id=self.key_id,
            previous_hash=self.previous_hash,
            printed_name=self.printed_name,
            comment=self.comment,
            state=self.state,
        )

    @property
    def is_legacy(self) -> bool:
        """Made with the unkeyed formula before keyed signing was introduced."""
        return not self.key_id

    def signed_model(self) -> type[models.Model] | None:
        # get_for_id() is served from ContentType's cache: checking a page of signatures must not
        # cost one query each (R-PERF-1).
        return ContentType.objects.get_for_id(self.content_type_id).model_class()

    def current_record(self) -> models.Model | None:
        model = self.signed_model()
        if model is None:
            return None
        return model._base_manager.filter(pk=self.object_id).first()

    def is_valid(self, record: models.Model | None = None) -> bool:
        """Recompute the hash from the record as it is in the database now."""
        if record is None or record.pk != self.object_id or record._meta.concrete_model is not self.signed_model():
            record = self.current_record()
        if record is None:
            return False
        if self.is_legacy and not SignatureChain.legacy_allowed(self.pk):
            # An unkeyed row made after keyed signing began can only be a forgery.
            return False
        from core import keys

        return keys.equal(self.expected_hash(record), self.record_hash)

    def record_as_signed(self) -> models.Model | None:
        """The signed record as the append-only audit trail holds it when this signature was made."""
        model = self.signed_model()
        history = getattr(model, "history", None) if model is not None else None
        if history is None:
            return None
        row = (
            history.filter(id=self.object_id, history_date__lte=self.signed_at)
            .order_by("-history_date", "-history_id")
            .first()
        )
        return row.instance if row is not None else None

    def superseded_by_audited_change(self, record: models.Model) -> bool:
        """Not valid against ``record`` as it is now, but authentic for what it signed: it verifies
        against the record as the audit trail held it when signed, the record changed after that
        through the application (a later audit-trail row: a reopening, a send-back, a retest) and
        its signed content now is what its newest audit-trail row says (nothing changed around the
        application). A record changed by SQL has no such row: its signature stays invalid.

        Called only for signatures that do not verify against the live record; decided by
        ``core.integrity.superseded_by_audited_change``, which the integrity check calls for a whole
        chunk of signatures at once (one query per model)."""
        if record is None:
            return False
        from core import integrity

        return self.pk in integrity.superseded_by_audited_change([(self, record)], integrity._legacy_boundary())


class SignatureChain(models.Model):
    """The head of the signature chain: one row, locked while a signature is written, so that
    concurrent signings cannot fork the chain (both would link to the same previous hash).

    ``legacy_boundary_id``: the last signature made with the unkeyed formula; unkeyed rows above
    it are forgeries. ``legacy_seal`` is an HMAC over those legacy rows (ids and hashes), taken at
    the first keyed signature, so a legacy row inserted later (in a gap) is reported.
    """

    last_signature_id = models.PositiveBigIntegerField(null=True, blank=True)
    last_hash = models.CharField(max_length=64, blank=True)
    legacy_boundary_id = models.PositiveBigIntegerField(default=0)
    legacy_seal = models.CharField(max_length=64, blank=True)
    legacy_seal_key_id = models.CharField(max_length=16, blank=True)

    HEAD_PK = 1

    def __str__(self) -> str:
        return f"signature chain head: #{self.last_signature_id} {self.last_hash[:12]}"

    @classmethod
    def legacy_allowed(cls, signature_id: int) -> bool:
        return cls.objects.filter(pk=cls.HEAD_PK, legacy_boundary_id__gte=signature_id).exists()


def document_upload_to(instance: Document, filename: str) -> str:
    # Filed by the month of issue in the site's time zone, as people look for them.
    issued = timezone.localtime(instance.issued_at, timezone.get_default_timezone())
    return f"documents/{issued:%Y/%m}/{filename}"


class DocumentQuerySet(AuditedQuerySet):
    def for_record(self, record: models.Model) -> DocumentQuerySet:
        ct = ContentType.objects.get_for_model(record, for_concrete_model=True)
        return self.filter(content_type=ct, object_id=record.pk)

    def versions_of(self, document: Document) -> DocumentQuerySet:
        """Every version of the same kind of document for the same record, oldest first."""
        return self.filter(
            kind=document.kind, content_type_id=document.content_type_id, object_id=document.object_id
        ).order_by("version")


class Document(models.Model):
    """An issued PDF (report, certificate): the frozen data it was built from, the file and its
    SHA-256, and a verification code printed on every page (R-SIG-2, R-REL-6, R-REC-3).

    Append-only like ``Signature``: a document is never re-rendered or changed in place; a
    correction issues the next version, which points at the one it supersedes. The row is
    written once, after the PDF has been rendered and hashed (see ``core.pdf.issue_document``).
    """

    APPEND_ONLY = True

    kind = models.CharField(_("kind of document"), max_length=64, help_text=_("e.g. qc_test_report"))
    number = models.CharField(_("document number"), max_length=64, blank=True, db_index=True)
    version = models.PositiveIntegerField(_("version"))
    # One-to-one: a version is superseded by at most one later version (a second concurrent
    # correction fails on this constraint and is issued as the version after it).
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    record_label = models.CharField(_("record"), max_length=255)
    title = models.CharField(_("title"), max_length=255, blank=True)
    template_name = models.CharField(_("template"), max_length=200)
    context = models.JSONField(_("frozen content"), help_text=_("The data the PDF was built from."))
    file = models.FileField(_("PDF file"), upload_to=document_upload_to, max_length=255)
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    issued_by = models.ForeignKey(
        "core.User", verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="issued_documents"
    )

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        ordering = ["-issued_at", "-id"]
        base_manager_name = "objects"
        indexes = [models.Index(fields=["content_type", "object_id", "kind"])]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "content_type", "object_id", "version"], name="core_document_version_unique"
            ),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="core_document_version_positive"),
        ]

    def __str__(self) -> str:
        label = self.number or self.title or self.kind
        return f"{label} v{self.version}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError("Issued documents are never changed; issue a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError("Issued documents are never deleted.")

    @property
    def code_display(self) -> str:
        """The verification code in groups of four, as printed (easier to read out and type)."""
        code = self.verification_code
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4))

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("core:document_verify", args=[self.verification_code])

    def stored_file_sha256(self) -> str | None:
        """SHA-256 of the file as it is in storage now; None when the file is missing."""
        return sha256_stored(self.file)

    def newest_version(self) -> Document:
        """The latest version of this document (itself when nothing supersedes it)."""
        return Document.objects.versions_of(self).order_by("-version").first() or self


class NumberCounter(models.Model):
    """The last number handed out per series and year (``core.numbering.next_number``).

    Not an audited record: the numbers it hands out are, on the records that carry them. The row
    is locked while a number is taken, inside the transaction that uses it, so numbers are unique
    and a rolled-back action gives its number back: no gaps (R-QC-6).
    """

    series = models.CharField(max_length=16)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="core_counter_series_year_unique")]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class Reminder(models.Model):
    """One reminder e-mail sent about one item at one threshold (issue 13 item 3): "instrument
    QC-HPLC-01 calibration due 2026-12-15", "OOS-2026-004 phase I overdue".

    Unique per item and threshold, and written in the same transaction as the sending: a reminder
    is sent once, and one whose sending failed is not recorded, so the next run sends it
    (``core.reminders``). Append-only: the record of who was told what, and when.
    """

    APPEND_ONLY = True

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    item = GenericForeignKey("content_type", "object_id")
    item_label = models.CharField(_("item"), max_length=255)
    threshold = models.CharField(_("threshold"), max_length=64)
    subject = models.CharField(_("subject"), max_length=255)
    recipients = models.TextField(_("sent to"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now, db_index=True)

    objects = AuditedQuerySet.as_manager()

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "threshold"], name="core_reminder_once_per_item_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_label} · {self.threshold}"


class DocumentIssueJob(models.Model):
    """Which background issue job produced which document (issue 13: a job stuck after its worker
    died is re-queued, and the document must still be issued exactly once).

    ``job_key`` is chosen when the signing action queues the job and is carried by every retry and
    every re-queue of it; the row is inserted in the same transaction as the ``Document`` row. A
    re-run finds it and returns that document instead of rendering a second version; two runs at
    once (a worker thought dead that was only slow) collide on the unique key and the loser
    discards its file.
    """

    job_key = models.CharField(max_length=64, unique=True)
    document = models.OneToOneField(Document, on_delete=models.PROTECT, related_name="issue_job")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("document issue job")
        verbose_name_plural = _("document issue jobs")

    def __str__(self) -> str:
        return f"{self.job_key} → {self.document_id}"
