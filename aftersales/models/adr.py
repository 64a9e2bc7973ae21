"""aftersales models: ADR cases (B.2.4, B.6)."""

from __future__ import annotations

from datetime import date, datetime

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.feedback import Feedback
from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

# --- ADR cases (B.2.4, B.6) -----------------------------------------------------------------------


class ADRRuleSet(models.Model):
    """A version of the ADR reporting deadlines (R-ADR-1). Reference data, seeded by migration;
    a new regulation is a new version, never an edit of the old one, so old cases keep theirs."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    title = models.CharField(_("regulation"), max_length=200)
    effective_from = models.DateField(_("effective from"))
    # Follow-up reports (跟踪报告): 81号令 第二十一条 says only "promptly" (及时) and the reference
    # texts do not quote the article itself; the "same clock as the first report" rule is GVP
    # (2021) from secondary sources. Kept here, per version, with its confidence, so QA can
    # confirm or change it; while unverified the pages say "to be confirmed by QA".
    followup_within_days = models.PositiveSmallIntegerField(
        _("follow-up report within (days)"),
        null=True,
        blank=True,
        help_text=_("Empty: the same clock as the first report, by the case's classification."),
    )
    followup_confidence = models.CharField(
        _("follow-up deadline confidence"),
        max_length=1,
        choices=[
            ("V", _("Wording verified")),
            ("S", _("From secondary sources; to be confirmed against the official text")),
        ],
        default="S",
    )
    followup_citation = models.CharField(_("follow-up deadline source"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("ADR deadline rule set")
        verbose_name_plural = _("ADR deadline rule sets")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})"


class ADRRule(models.Model):
    class Applies(models.TextChoices):
        DEATH = "death", _("Death")
        GROUP = "group", _("Group event")
        NEW_OR_SERIOUS = "new_or_serious", _("New or serious")
        OTHER = "other", _("Other")

    class Confidence(models.TextChoices):
        VERIFIED = "V", _("Wording verified")
        SECONDARY = "S", _("From secondary sources; to be confirmed against the official text")

    ruleset = models.ForeignKey(ADRRuleSet, on_delete=models.PROTECT, related_name="rules")
    applies_to = models.CharField(_("applies to"), max_length=16, choices=Applies.choices)
    # 0 = immediately (立即).
    report_within_days = models.PositiveSmallIntegerField(_("report within (days)"))
    report_confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    investigation_within_days = models.PositiveSmallIntegerField(
        _("investigation report within (days)"), null=True, blank=True
    )
    investigation_confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices, blank=True)
    citation = models.CharField(_("citation"), max_length=200)

    class Meta:
        verbose_name = _("ADR deadline rule")
        verbose_name_plural = _("ADR deadline rules")
        constraints = [models.UniqueConstraint(fields=["ruleset", "applies_to"], name="aftersales_one_rule_per_kind")]

    def __str__(self) -> str:
        return f"{self.ruleset.version}: {self.get_applies_to_display()}"


class ADRCaseQuerySet(AuditedQuerySet):
    def open(self) -> ADRCaseQuerySet:
        return self.filter(status=ADRCase.Status.OPEN)

    def awaiting_action(self) -> ADRCaseQuerySet:
        """Not yet reported, or reported with an investigation report (death, group event) still due.
        Annotated with ``next_due``: the date the next step is due."""
        from django.db.models import Case, When

        return self.filter(
            Q(status=ADRCase.Status.OPEN) | Q(investigation_due__isnull=False, investigation_report__isnull=True)
        ).annotate(next_due=Case(When(status=ADRCase.Status.OPEN, then="report_due"), default="investigation_due"))

    def overdue(self, today: date | None = None) -> ADRCaseQuerySet:
        """The report or the investigation report is past its due date (R-ADR-1)."""
        today = today or timezone.localdate()
        return self.filter(
            Q(status=ADRCase.Status.OPEN, report_due__lt=today)
            | Q(investigation_due__lt=today, investigation_report__isnull=True)
        )


class ADRCase(ChangeTracked):
    """A possible adverse drug reaction (药品不良反应), day 0 = first awareness in the company."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open (not yet reported)")
        REPORTED = "reported", _("Reported")

    class Outcome(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        RECOVERING = "recovering", _("Recovering")
        RECOVERED = "recovered", _("Recovered")
        SEQUELAE = "sequelae", _("Recovered with sequelae")
        NOT_RECOVERED = "not_recovered", _("Not recovered")
        DEATH = "death", _("Death")

    class Causality(models.TextChoices):
        CERTAIN = "certain", _("Certain")
        PROBABLE = "probable", _("Probable")
        POSSIBLE = "possible", _("Possible")
        UNLIKELY = "unlikely", _("Unlikely")
        UNASSESSABLE = "unassessable", _("Unassessable")

    TRANSITIONS = {Status.OPEN: {Status.REPORTED}, Status.REPORTED: set()}
    SERIOUSNESS_FIELDS = (
        "serious_death",
        "serious_life_threatening",
        "serious_cancer_birth_defect",
        "serious_disability",
        "serious_hospitalisation",
        "serious_other",
    )
    EDITABLE_FIELDS = (
        "patient",
        "reporter",
        "reaction",
        "onset_date",
        "outcome",
        "dose_and_indication",
        "concomitant_drugs",
        *SERIOUSNESS_FIELDS,
        "is_new",
        "group_event",
        "causality",
    )
    SIGNED_FIELDS = (
        "number",
        "day0",
        "product",
        "batch",
        "reaction",
        *SERIOUSNESS_FIELDS,
        "is_new",
        "group_event",
        "ruleset",
        "report_due",
        "national_report_number",
        "reported_at",
        "status",
    )
    REQUIRED_SIGNATURES = {Status.REPORTED: "reported"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = (
        "status",
        "feedback",
        "patient",
        "reporter",
        "onset_date",
        "outcome",
        "dose_and_indication",
        "concomitant_drugs",
        "causality",
        "report_immediately",
        "investigation_due",
        "reported_by",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    feedback = models.OneToOneField(
        Feedback, verbose_name=_("feedback record"), on_delete=models.PROTECT, related_name="adr_case"
    )
    day0 = models.DateTimeField(
        _("day 0 (first awareness in the company)"),
        help_text=_("The first time anyone in the company learned of it, not the time QA received it."),
    )
    patient = models.CharField(_("patient (initials, age, sex)"), max_length=100)
    reporter = models.CharField(_("reporter"), max_length=200)
    product = models.ForeignKey(
        "release.Product", verbose_name=_("suspected drug"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reaction = models.TextField(_("adverse reaction"))
    onset_date = models.DateField(_("onset date"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.UNKNOWN)
    dose_and_indication = models.CharField(_("dose and indication"), max_length=200, blank=True)
    concomitant_drugs = models.TextField(_("concomitant drugs"), blank=True)
    serious_death = models.BooleanField(_("death"), default=False)
    serious_life_threatening = models.BooleanField(_("life-threatening"), default=False)
    serious_cancer_birth_defect = models.BooleanField(_("cancer, congenital anomaly or birth defect"), default=False)
    serious_disability = models.BooleanField(_("permanent disability or organ damage"), default=False)
    serious_hospitalisation = models.BooleanField(_("hospitalisation or its prolongation"), default=False)
    serious_other = models.BooleanField(_("other important medical event"), default=False)
    is_new = models.BooleanField(_("new (not in the label, or more severe or frequent than labelled)"), default=False)
    group_event = models.BooleanField(_("group event"), default=False)
    causality = models.CharField(_("causality"), max_length=16, choices=Causality.choices, blank=True)
    ruleset = models.ForeignKey(ADRRuleSet, verbose_name=_("deadline rules"), on_delete=models.PROTECT)
    report_due = models.DateField(_("report due"), db_index=True)
    report_immediately = models.BooleanField(_("report immediately"), default=False)
    investigation_due = models.DateField(_("investigation report due"), null=True, blank=True)
    national_report_number = models.CharField(_("national system report number"), max_length=64, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        "core.User", verbose_name=_("reported by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)

    objects = ADRCaseQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("ADR case")
        verbose_name_plural = _("ADR cases")
        ordering = ["report_due", "pk"]
        # The list's order (open first, by due date), read from the index for the page shown.
        indexes = [models.Index(fields=["status", "report_due", "id"], name="aftersales_adrcase_list")]
        permissions = [("report_adrcase", _("Can record the national report of ADR cases"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("aftersales:adr_detail", self.pk)

    @property
    def is_serious(self) -> bool:
        return any(getattr(self, f) for f in self.SERIOUSNESS_FIELDS)

    @property
    def report_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.localdate() > self.report_due

    @property
    def investigation_pending(self) -> bool:
        return self.investigation_due is not None and not hasattr(self, "investigation_report")

    @property
    def investigation_overdue(self) -> bool:
        return self.investigation_pending and timezone.localdate() > self.investigation_due

    @property
    def is_overdue(self) -> bool:
        return self.report_overdue or self.investigation_overdue


class ADRInvestigationReport(ChangeTracked):
    """The investigation report a death (第二十二条) or a group event (第二十七、二十八条) requires,
    as submitted to the ADR monitoring centre. Signed on its own, so the case's report signature
    keeps verifying."""

    SIGNED_FIELDS = ("case", "submitted_at", "reference", "summary")
    SIGNED_STATE = ("submitted_by",)
    AUDIT_LABEL_FIELD = "reference"

    LABEL_RELATED = ("case",)  # what __str__ reads: read with it where the audit trail names it

    case = models.OneToOneField(ADRCase, on_delete=models.PROTECT, related_name="investigation_report")
    submitted_at = models.DateTimeField(_("submitted at"))
    reference = models.CharField(_("reference"), max_length=64)
    summary = models.TextField(_("summary of the investigation"))
    submitted_by = models.ForeignKey(
        "core.User", verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("ADR investigation report")
        verbose_name_plural = _("ADR investigation reports")

    def __str__(self) -> str:
        return f"{self.case.number} · {self.reference}"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()


class ADRFollowUp(ChangeTracked):
    """A follow-up report (随访/跟踪报告) of a case already reported: new information (outcome,
    seriousness, death, details) reported to the national system like the first report.

    81号令 第二十一条 asks for follow-up information "promptly" [V, paraphrased in
    ../shared/reference/regulatory.md §3.4; the article's own text is not quoted there]; GVP (2021)
    puts follow-ups on the same clock as the first report, from the day the company received the
    new information [S]. So the rule is the rule set's (``ADRRuleSet.followup_within_days``, empty =
    same clock; ``followup_confidence`` "S" for version 2011): the due date is computed with the
    case's own rule set from that day and, on the same clock, the case's classification as the new
    information leaves it. Pages show "to be confirmed by QA" beside it while unverified.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Not yet reported")
        REPORTED = "reported", _("Reported")

    TRANSITIONS = {Status.OPEN: {Status.REPORTED}, Status.REPORTED: set()}
    EDITABLE_FIELDS = ("received_at", "information", "outcome", "death", "serious")
    SIGNED_FIELDS = (
        "case",
        "sequence",
        "received_at",
        "information",
        "outcome",
        "death",
        "serious",
        "report_due",
        "national_report_number",
        "reported_at",
        "status",
    )
    REQUIRED_SIGNATURES = {Status.REPORTED: "reported"}
    SIGNED_STATE = ("report_immediately", "recorded_by", "reported_by")
    AUDIT_LABEL_FIELD = "sequence"

    LABEL_RELATED = ("case",)  # what __str__ reads: read with it where the audit trail names it

    case = models.ForeignKey(ADRCase, verbose_name=_("ADR case"), on_delete=models.PROTECT, related_name="follow_ups")
    sequence = models.PositiveSmallIntegerField(_("follow-up number"))
    received_at = models.DateTimeField(
        _("new information received at"),
        help_text=_("When anyone in the company received the new information: the follow-up's day 0."),
    )
    information = models.TextField(_("new information"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=ADRCase.Outcome.choices)
    death = models.BooleanField(_("the patient died"), default=False)
    serious = models.BooleanField(_("serious (now)"), default=False)
    report_due = models.DateField(_("follow-up report due"), db_index=True)
    report_immediately = models.BooleanField(_("report immediately"), default=False)
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    national_report_number = models.CharField(_("national system report number"), max_length=64, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        "core.User", verbose_name=_("reported by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("ADR follow-up report")
        verbose_name_plural = _("ADR follow-up reports")
        ordering = ["case", "sequence"]
        constraints = [models.UniqueConstraint(fields=["case", "sequence"], name="aftersales_one_followup_number")]

    def __str__(self) -> str:
        return f"{self.case.number} · {self.sequence}"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()

    @property
    def report_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.localdate() > self.report_due

    @property
    def due_unverified(self) -> bool:
        """The follow-up deadline of the case's rule set is not verified against the regulation's
        text: shown with "to be confirmed by QA" wherever the due date is."""
        return self.case.ruleset.followup_confidence != "V"


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in the site's time zone (deadlines count local days)."""
    return timezone.localtime(moment).date()
