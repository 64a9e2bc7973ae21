"""release models: QP designations (质量受权人授权)."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from release.models.products import Product

# --- QP designations (质量受权人授权) ---------------------------------------------------------------


class QPDesignationQuerySet(AuditedQuerySet):
    def valid(self, on: date | None = None) -> QPDesignationQuerySet:
        on = on or timezone.localdate()
        return self.filter(status=QPDesignation.Status.ACTIVE, valid_from__lte=on, valid_to__gte=on)


class QPDesignation(ChangeTracked):
    """The company's designation of a qualified person (or a deputy) for a product, from its
    authorisation letter (授权书): entered by an administrator, never by a QP (ZL-086 4.4.4: no
    delegation), and mirrored as the django-guardian object permission ``release.decide_batch`` on
    the product (R-REL-5)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    TRANSITIONS = {Status.ACTIVE: {Status.REVOKED}, Status.REVOKED: set()}
    AUDIT_LABEL_FIELD = "letter_number"

    person = models.ForeignKey(
        "core.User", verbose_name=_("qualified person"), on_delete=models.PROTECT, related_name="qp_designations"
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="qp_designations"
    )
    letter_number = models.CharField(_("authorisation letter number"), max_length=64)
    factory_release = models.BooleanField(_("factory release (出厂放行)"), default=True)
    market_release = models.BooleanField(_("market release (上市放行)"), default=True)
    deputy = models.BooleanField(_("deputy qualified person"), default=False)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    revoke_reason = models.TextField(_("reason for revoking"), blank=True)

    objects = QPDesignationQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("QP designation")
        verbose_name_plural = _("QP designations")
        ordering = ["product", "-valid_to", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=F("valid_from")), name="release_qp_designation_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.letter_number} · {self.product if self.product_id else '—'}"
