"""release models: products (品种)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

# --- products (品种) ----------------------------------------------------------------------------------


class DosageForm(models.TextChoices):
    TABLET = "tablet", _("Tablet")
    CAPSULE = "capsule", _("Capsule")
    INJECTION = "injection", _("Injection")
    GRANULE = "granule", _("Granules")
    ORAL_LIQUID = "oral_liquid", _("Oral liquid")
    OINTMENT = "ointment", _("Ointment")
    OTHER = "other", _("Other")


class ProductQuerySet(AuditedQuerySet):
    def active(self) -> ProductQuerySet:
        return self.exclude(status=Product.Status.VOIDED)

    def awaiting_approval(self) -> ProductQuerySet:
        return self.filter(status=Product.Status.DRAFT)

    @staticmethod
    def _authored_by(user) -> Exists:
        """True for a product whose current version ``user`` created or changed: a history row by
        them after the last approval (any row at all when it was never approved). R-SEQ-2: such
        a person is an author of what would be approved, even if someone else changed it last."""
        history = Product.history.model  # type: ignore[attr-defined]
        approvals = history.objects.filter(id=OuterRef(OuterRef("pk")), status=Product.Status.APPROVED)
        last_approval = approvals.order_by("-history_date", "-history_id").values("history_date")[:1]
        return Exists(
            history.objects.filter(id=OuterRef("pk"), history_user=user).filter(
                Q(history_date__gt=Subquery(last_approval)) | ~Exists(approvals)
            )
        )

    def authored_by(self, user) -> ProductQuerySet:
        """Products whose current version ``user`` created or changed, or changed last: they may
        not approve it (R-SEQ-2; ``release.services.cannot_approve_product`` uses this)."""
        return self.filter(Q(last_changed_by=user) | Q(self._authored_by(user)))

    def not_authored_by(self, user) -> ProductQuerySet:
        return self.exclude(Q(last_changed_by=user) | Q(self._authored_by(user)))


class Product(ChangeTracked):
    """A medicinal product's master record (品种), approved by QA before batches can be made."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.DRAFT: {Status.APPROVED, Status.VOIDED},
        # A change to an approved product sends it back to draft: it needs approving again.
        Status.APPROVED: {Status.DRAFT, Status.VOIDED},
        Status.VOIDED: set(),
    }
    # The content a QA approval vouches for (its signature hashes these, R-SIG-3).
    SIGNED_FIELDS = (
        "name",
        "generic_name",
        "dosage_form",
        "strength",
        "pack_size",
        "approval_number",
        "shelf_life_months",
        "storage_conditions",
        "mah",
        "manufacturer",
        "requires_two_stage_release",
        "requires_lot_release_certificate",
    )
    # The material-balance limits (R-REL-8) are edited like the rest (a change needs approving
    # again) but are not in the approval's hash: adding them would break the existing signatures.
    EDITABLE_FIELDS = SIGNED_FIELDS + ("balance_lower_limit", "balance_upper_limit")
    AUDIT_LABEL_FIELD = "name"
    # A status that needs a signature to stand (core.integrity; set by SQL otherwise).
    REQUIRED_SIGNATURES = {Status.APPROVED: "approved"}
    # What an approval or voiding vouches for beyond the content (core.models.signed_state).
    SIGNED_STATE = ("status", "balance_lower_limit", "balance_upper_limit")

    name = models.CharField(_("product name"), max_length=200)
    generic_name = models.CharField(_("generic name"), max_length=200)
    dosage_form = models.CharField(_("dosage form"), max_length=32, choices=DosageForm.choices)
    strength = models.CharField(_("strength"), max_length=100, help_text=_("e.g. 0.25g or 2ml:0.5g"))
    pack_size = models.CharField(_("pack size"), max_length=100, help_text=_("e.g. 24 capsules/box"))
    approval_number = models.CharField(
        _("approval number"), max_length=50, unique=True, help_text=_("e.g. 国药准字H20000000")
    )
    shelf_life_months = models.PositiveSmallIntegerField(
        _("shelf life (months)"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    storage_conditions = models.CharField(_("storage conditions"), max_length=200)
    mah = models.CharField(_("marketing authorisation holder"), max_length=200)
    manufacturer = models.CharField(_("manufacturer"), max_length=200)
    requires_two_stage_release = models.BooleanField(_("two-stage release (factory, then market)"), default=False)
    requires_lot_release_certificate = models.BooleanField(_("needs lot release certificate (批签发)"), default=False)
    balance_lower_limit = models.DecimalField(
        _("material balance lower limit (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("95.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("200"))],
    )
    balance_upper_limit = models.DecimalField(
        _("material balance upper limit (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("101.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("200"))],
    )

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    objects = ProductQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name", "strength"]
        constraints = [
            # 国药准字H20000001 and 国药准字h20000001 are the same approval.
            models.UniqueConstraint(Upper("approval_number"), name="release_product_approval_number_ci_unique"),
        ]
        permissions = [
            ("approve_product", _("Can approve product master records")),
            ("void_product", _("Can void product master records")),
            # Held per product as a django-guardian object permission, mirrored from QPDesignation.
            ("decide_batch", _("Can decide the release of this product's batches (designated QP)")),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength}"

    def get_absolute_url(self) -> str:
        return link("release:product_detail", self.pk)

    @property
    def needs_two_stage_release(self) -> bool:
        """Factory release, then market release, whenever the MAH is not the manufacturer (药品管理法
        第三十三、四十七条; R-REL-7): derived, the flag can only add it, never take it away."""
        return self.requires_two_stage_release or self.mah.strip() != self.manufacturer.strip()
