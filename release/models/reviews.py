"""release models: the release review (ZL-086; GMP 第二百二十九–二百三十条; R-REL-1…6)."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, AuditError, ChangeTracked, audited_history
from core.links import link
from release.models.batches import Batch

# --- the release review (ZL-086; GMP 第二百二十九–二百三十条; R-REL-1…6) --------------------------------


class Stage(models.TextChoices):
    """The stages of a batch's release review, in order (ZL-086 4.1–4.4, B.1.1)."""

    PRODUCTION = "production", _("Production review")
    QC = "qc", _("QC review")
    QA = "qa", _("QA review and evaluation")
    STAMP = "stamp", _("Release stamp")
    QP = "qp", _("Qualified person's decision")
    MARKET = "market", _("Market release")


# The stages that answer a checklist (the stamp and the decisions do not).
CHECKLIST_STAGES = (Stage.PRODUCTION, Stage.QC, Stage.QA)


class Answer(models.TextChoices):
    CONFORMS = "conforms", _("Conforms")
    DOES_NOT_CONFORM = "does_not_conform", _("Does not conform")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class Verdict(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")


class Decision(models.TextChoices):
    RELEASE = "release", _("Release")
    REJECT = "reject", _("Reject")
    OTHER = "other", _("Other")


class ImmutableQuerySet(AuditedQuerySet):
    """Reference data written once by a data migration and never changed (a change is a new version)."""


class ImmutableModel(models.Model):
    APPEND_ONLY = True

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        abstract = True
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditError(f"{type(self).__name__} rows are never changed: add a new version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise AuditError(f"{type(self).__name__} rows are never deleted.")


class ChecklistTemplateQuerySet(ImmutableQuerySet):
    def current(self, stage: str) -> ChecklistTemplate | None:
        """The version a review started now uses (the highest one of the stage)."""
        return self.filter(stage=stage).order_by("-version").first()


class ChecklistTemplate(ImmutableModel):
    """One version of a stage's checklist (R-REL-2). A new version applies to reviews started after
    it; a review keeps the versions it started with."""

    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    version = models.PositiveSmallIntegerField(_("version"))
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    source = models.CharField(_("source"), max_length=200)
    effective_at = models.DateTimeField(_("in force from"), default=timezone.now)

    objects = ChecklistTemplateQuerySet.as_manager()

    class Meta(ImmutableModel.Meta):
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        constraints = [models.UniqueConstraint(fields=["stage", "version"], name="release_checklist_stage_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def title(self) -> str:
        return self.title_zh if (get_language() or "").startswith("zh") else self.title_en


class ChecklistItem(ImmutableModel):
    """One item of a checklist template, with its stable key (B.1: P-4.2.1, QC-4.3.2.6, QA-4.1.1a …)
    and, for items the system can check, the check that pre-fills it (release.checks)."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField(_("position"))
    key = models.CharField(_("key"), max_length=32)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    source = models.CharField(_("source"), max_length=100)
    system_check = models.CharField(_("system check"), max_length=32, blank=True)

    class Meta(ImmutableModel.Meta):
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "key"], name="release_checklist_item_key")]

    def __str__(self) -> str:
        return self.key

    @property
    def text(self) -> str:
        return self.text_zh if (get_language() or "").startswith("zh") else self.text_en


class ReleaseReviewQuerySet(AuditedQuerySet):
    def decided(self) -> ReleaseReviewQuerySet:
        return self.exclude(decision="")


class ReleaseReview(ChangeTracked):
    """The release review of one batch (放行审核): production → QC → QA → QA stamp → QP (→ market
    release for a two-stage product). Each stage is a signed ``ReviewStep``; this row holds where
    the review stands, the checklist versions it uses and, once decided, the decision for the
    register (R-REL-1, R-REL-2, R-REL-9)."""

    class Status(models.TextChoices):
        PRODUCTION = "production", _("Awaiting production review")
        QC = "qc", _("Awaiting QC review")
        QA = "qa", _("Awaiting QA evaluation")
        STAMP = "stamp", _("Awaiting the release stamp")
        QP = "qp", _("Awaiting the qualified person")
        MARKET = "market", _("Awaiting market release")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("batch", "Rejected")

    TRANSITIONS = {
        Status.PRODUCTION: {Status.QC},
        # Each stage may send the review back to the one before it (with a reason).
        Status.QC: {Status.QA, Status.PRODUCTION},
        # Conforming → the stamp; nonconforming → straight to the QP, who can only reject (4.4.5).
        Status.QA: {Status.STAMP, Status.QP, Status.QC},
        Status.STAMP: {Status.QP, Status.QA},
        # "Other" (GMP 第二百三十条(二)) returns the review to QA's evaluation.
        Status.QP: {Status.RELEASED, Status.REJECTED, Status.MARKET, Status.STAMP, Status.QA},
        Status.MARKET: {Status.RELEASED, Status.REJECTED},
        Status.RELEASED: set(),
        Status.REJECTED: set(),
    }
    # The stage each status waits for.
    STAGE_OF = {
        Status.PRODUCTION: Stage.PRODUCTION,
        Status.QC: Stage.QC,
        Status.QA: Stage.QA,
        Status.STAMP: Stage.STAMP,
        Status.QP: Stage.QP,
        Status.MARKET: Stage.MARKET,
    }
    AUDIT_LABEL_FIELD = "status"

    LABEL_RELATED = ("batch",)  # what __str__ reads: read with it where the audit trail names it

    batch = models.OneToOneField(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="review")
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PRODUCTION, db_index=True
    )
    production_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("production checklist"), on_delete=models.PROTECT, related_name="+"
    )
    qc_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("QC checklist"), on_delete=models.PROTECT, related_name="+"
    )
    qa_template = models.ForeignKey(
        ChecklistTemplate, verbose_name=_("QA checklist"), on_delete=models.PROTECT, related_name="+"
    )
    # Only for two-stage reviews started since the market checklist exists (B.1.7); older ones: null.
    market_template = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("market release checklist"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    two_stage = models.BooleanField(_("two-stage release (factory, then market)"), default=False)
    started_by = models.ForeignKey(
        "core.User", verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        "core.User", verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    objects = ReleaseReviewQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("release review")
        verbose_name_plural = _("release reviews")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["decided_at", "id"], name="release_review_register"),
            # My work's stage queues (status = one stage, oldest change first): the open reviews
            # only, a handful among a plant's decided ones (issue 12).
            models.Index(
                fields=["status", "updated_at", "id"],
                name="release_review_waiting",
                condition=~models.Q(status__in=["released", "rejected"]),
            ),
        ]
        permissions = [
            ("review_production", _("Can sign the production review of a batch")),
            ("review_qc", _("Can sign the QC review of a batch")),
            ("review_qa", _("Can sign the QA review and evaluation of a batch")),
            ("stamp_release", _("Can apply the release stamp")),
            ("decide_release", _("Can act as qualified person (where designated)")),
        ]

    def __str__(self) -> str:
        return str(self.batch.batch_number) if self.batch_id else "—"

    def get_absolute_url(self) -> str:
        return link("release:batch_review", self.batch_id)

    def template_for(self, stage: str) -> ChecklistTemplate | None:
        return {
            Stage.PRODUCTION: self.production_template,
            Stage.QC: self.qc_template,
            Stage.QA: self.qa_template,
            Stage.MARKET: self.market_template,
        }.get(stage)

    @property
    def waiting_for(self) -> str | None:
        return self.STAGE_OF.get(self.status)


class ReviewStepQuerySet(AuditedQuerySet):
    def active(self) -> ReviewStepQuerySet:
        return self.filter(withdrawn_at__isnull=True)


class ReviewStep(AuditedModel):
    """One signed stage of a release review: the checklist answers as signed (with the system's
    finding for each), QA's conclusions, the stamp, or the QP's decision.

    Written once and signed; a send-back marks it withdrawn (fields outside the signature) and the
    stage is signed again. R-SEQ-2: one person signs at most one stage of a batch.
    """

    SIGNED_FIELDS = (
        "review",
        "stage",
        "template",
        "answers",
        "production_verdict",
        "testing_verdict",
        "overall_verdict",
        "lot_release_number",
        "audit_trail_reviewed",
        "decision",
        "decision_text",
        "statement",
        "signed_by",
        "signed_at",
    )
    UNSIGNED_FIELDS = {
        "withdrawn_at": "sending a stage back is its own step with a reason; the signature stays as history",
        "withdrawn_by": "as withdrawn_at",
        "withdraw_reason": "as withdrawn_at",
    }
    AUDIT_LABEL_FIELD = "stage"

    review = models.ForeignKey(
        ReleaseReview, verbose_name=_("release review"), on_delete=models.PROTECT, related_name="steps"
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices)
    template = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("checklist"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answers = models.JSONField(_("checklist answers"), default=list, blank=True)
    production_verdict = models.CharField(_("production evaluation"), max_length=8, choices=Verdict.choices, blank=True)
    testing_verdict = models.CharField(_("testing evaluation"), max_length=8, choices=Verdict.choices, blank=True)
    overall_verdict = models.CharField(_("overall conclusion"), max_length=8, choices=Verdict.choices, blank=True)
    lot_release_number = models.CharField(_("lot release certificate number (批签发)"), max_length=64, blank=True)
    audit_trail_reviewed = models.BooleanField(_("critical-data audit trail reviewed"), default=False)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    decision_text = models.TextField(_("decision text"), blank=True)
    statement = models.TextField(_("statement signed"), blank=True)
    signed_by = models.ForeignKey("core.User", verbose_name=_("signed by"), on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("sent back at"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        "core.User", verbose_name=_("sent back by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdraw_reason = models.TextField(_("reason for sending back"), blank=True)

    objects = ReviewStepQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("release review step")
        verbose_name_plural = _("release review steps")
        ordering = ["signed_at", "id"]
        indexes = [
            models.Index(fields=["review", "stage"]),
            # "Reviews this person signed another stage of" (R-SEQ-2), asked by My work's stage
            # queues per review: one probe each, where the person's ~100,000 steps of ten years
            # were hashed first (issue 12).
            models.Index(fields=["signed_by", "review"], include=["stage"], name="release_step_signer"),
        ]

    def __str__(self) -> str:
        return f"{self.review} · {self.get_stage_display()}"


class ReviewCorrection(ChangeTracked):
    """A correction of a decided review's certificate or nonconforming-product report (GMP 第一百六十一条:
    a correction is signed and dated, the original stays legible). QA prepares it — which entry,
    what it should read, why — and signs; the qualified person designated for the product approves
    (or refuses) it with a second signature. Approval reissues the decision document as the next
    version, superseding the old one, with every approved correction printed beside the signed
    answers (which never change). R-REL-6, R-SEQ-2."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting the qualified person")
        APPROVED = "approved", _("Approved and reissued")
        REFUSED = "refused", _("Refused")

    TRANSITIONS = {
        Status.REQUESTED: {Status.APPROVED, Status.REFUSED},
        Status.APPROVED: set(),
        Status.REFUSED: set(),
    }
    EDITABLE_FIELDS = ("item_key", "correction", "reason")
    # Stable between the two signatures (QA's "Prepared", the QP's "Approved" or "Rejected").
    SIGNED_FIELDS = EDITABLE_FIELDS + ("review", "step", "requested_by", "requested_at")
    # What the signature of the current status vouches for beyond that (core.models.signed_state).
    SIGNED_STATE = ("status", "decided_by", "decided_at", "decision_comment")
    REQUIRED_SIGNATURES = {Status.REQUESTED: "authored", Status.APPROVED: "approved", Status.REFUSED: "rejected"}
    AUDIT_LABEL_FIELD = "item_key"

    review = models.ForeignKey(
        ReleaseReview, verbose_name=_("release review"), on_delete=models.PROTECT, related_name="corrections"
    )
    step = models.ForeignKey(
        ReviewStep, verbose_name=_("decision corrected"), on_delete=models.PROTECT, related_name="corrections"
    )
    item_key = models.CharField(_("entry corrected"), max_length=32)
    correction = models.TextField(_("what the entry should read"))
    reason = models.TextField(_("reason for the correction"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    requested_by = models.ForeignKey(
        "core.User", verbose_name=_("prepared by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(_("prepared at"), default=timezone.now)
    decided_by = models.ForeignKey(
        "core.User",
        verbose_name=_("approved or refused by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("approved or refused at"), null=True, blank=True)
    decision_comment = models.TextField(_("qualified person's comment"), blank=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("review correction")
        verbose_name_plural = _("review corrections")
        ordering = ["requested_at", "id"]

    def __str__(self) -> str:
        return f"{self.review} · {self.item_key}"

    def get_absolute_url(self) -> str:
        return link("release:batch_review", self.review.batch_id) + f"#correction-{self.pk}"
