"""aftersales models: customers and GSP qualification (B.3)."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

# --- customers and GSP qualification (B.3) --------------------------------------------------------


class CustomerType(models.TextChoices):
    DISTRIBUTOR = "distributor", _("Distributor")
    HOSPITAL = "hospital", _("Hospital / medical institution")
    PHARMACY = "pharmacy", _("Pharmacy")
    CHAIN_OUTLET = "chain_outlet", _("Chain-pharmacy outlet")
    OTHER = "other", _("Other")


class ApprovalRole(models.TextChoices):
    """GSP-5.5: the 《客户资质审核表》 is approved by 销售部, 质管部, 财务部 and 质量负责人."""

    SALES = "sales", _("Sales department")
    QA = "qa", _("Quality management department")
    FINANCE = "finance", _("Finance department")
    QUALITY_HEAD = "quality_head", _("Quality head")


# The permission each approval needs (core/roles.py gives each to one role).
APPROVAL_PERMISSIONS = {
    ApprovalRole.SALES: "aftersales.approve_customer_sales",
    ApprovalRole.QA: "aftersales.approve_customer_qa",
    ApprovalRole.FINANCE: "aftersales.approve_customer_finance",
    ApprovalRole.QUALITY_HEAD: "aftersales.approve_customer_quality_head",
}


class CustomerQuerySet(AuditedQuerySet):
    def qualified(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.QUALIFIED)

    def in_approval(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.IN_APPROVAL)

    def awaiting_approval_by(self, user, roles: list[str]) -> CustomerQuerySet:
        """In approval, not yet approved by ``user`` this round, and some department of ``roles``
        still to approve: the SQL form of ``cannot_approve_customer`` for the My-work queue."""
        from django.db.models import Exists, OuterRef

        if not roles:
            return self.none()
        this_round = CustomerApproval.objects.filter(customer=OuterRef("pk"), approval_round=OuterRef("approval_round"))
        pending = Q()
        for role in roles:
            pending |= ~Q(Exists(this_round.filter(role=role)))
        return self.in_approval().exclude(Exists(this_round.filter(approver=user))).filter(pending)


class Customer(ChangeTracked):
    """A purchaser (购货单位) in the qualified-customer file (合格客户档案, GSP-5.5)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_APPROVAL = "in_approval", _("In qualification approval")
        QUALIFIED = "qualified", _("Qualified")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.DRAFT: {Status.IN_APPROVAL, Status.VOIDED},
        # A change of the customer's data during approval or after it sends it back to draft:
        # the four approvals vouched for the data as it was.
        Status.IN_APPROVAL: {Status.QUALIFIED, Status.DRAFT, Status.VOIDED},
        Status.QUALIFIED: {Status.DRAFT, Status.VOIDED},
        Status.VOIDED: set(),
    }
    SIGNED_FIELDS = (
        "name",
        "customer_type",
        "registered_address",
        "delivery_address",
        "seal_name",
        "approval_round",
    )
    REQUIRED_SIGNATURES = {Status.QUALIFIED: "approved"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = ("status",)
    UNSIGNED_FIELDS = {
        "contact_person": "contact details change without requalification (GSP-5.3: licences, names, seal, scope)",
        "phone": "as contact_person",
        "notes": "free notes, not part of the qualification",
        "last_visit_at": "a stored index of the latest approved visit (kept by visit_approve); each visit is signed itself",
    }
    EDITABLE_FIELDS = (
        "name",
        "customer_type",
        "registered_address",
        "delivery_address",
        "contact_person",
        "phone",
        "seal_name",
        "notes",
    )
    AUDIT_LABEL_FIELD = "name"

    name = models.CharField(_("customer name"), max_length=200)
    customer_type = models.CharField(_("customer type"), max_length=16, choices=CustomerType.choices)
    registered_address = models.CharField(_("registered address"), max_length=300)
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    seal_name = models.CharField(
        _("name on the company seal"),
        max_length=200,
        help_text=_("As it reads on the seal on the documents provided (GSP-5.3.1: it must match the name)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # Approvals count only for the current round: a change after approval starts a new round.
    approval_round = models.PositiveIntegerField(_("approval round"), default=1, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # When the latest approved quality visit took place (VIS-4.1.3.4: every half year), stored so
    # that the due list reads the customers in this order from an index instead of grouping every
    # customer's visits on each view (~27 ms of SQL at scale 1.0, issue 12). Set by visit_approve
    # with a history row; approved visits are final, so it only moves forward.
    last_visit_at = models.DateTimeField(_("last approved visit"), null=True, blank=True, editable=False)

    objects = CustomerQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        # The customer list's order (and the visit list's never-visited, by name): read from the
        # index instead of sorting every customer on each page (6 ms at scale 1.0, issue 12).
        indexes = [
            models.Index(fields=["name", "id"], name="aftersales_customer_name"),
            # The visit due list: the visited in the order of their last visit, the never visited by name.
            models.Index(fields=["status", "last_visit_at", "id"], name="aftersales_customer_last_visit"),
            models.Index(
                fields=["name", "id"], condition=Q(last_visit_at__isnull=True), name="aftersales_customer_unvisited"
            ),
        ]
        permissions = [
            ("approve_customer_sales", _("Can approve new customers for the sales department")),
            ("approve_customer_qa", _("Can approve new customers for the quality management department")),
            ("approve_customer_finance", _("Can approve new customers for the finance department")),
            ("approve_customer_quality_head", _("Can approve new customers as quality head")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return link("aftersales:customer_detail", self.pk)

    def current_approvals(self):
        return self.approvals.filter(approval_round=self.approval_round)


class CustomerApproval(AuditedModel):
    """One of the four approvals of a customer's qualification (GSP-5.5), signed.

    The constraints make the segregation structural: one approval per department and round, and
    one person approves at most once per round (four departments → four people).
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="approvals")
    approval_round = models.PositiveIntegerField(_("approval round"))
    role = models.CharField(_("approved for"), max_length=16, choices=ApprovalRole.choices)
    approver = models.ForeignKey("core.User", verbose_name=_("approver"), on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer approval")
        verbose_name_plural = _("customer approvals")
        ordering = ["approved_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "approval_round", "role"], name="aftersales_one_approval_per_role"
            ),
            models.UniqueConstraint(
                fields=["customer", "approval_round", "approver"], name="aftersales_one_approval_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_role_display()}"


class LicenceKind(models.TextChoices):
    DRUG_BUSINESS = "drug_business", _("Drug business licence (药品经营许可证)")
    MEDICAL_INSTITUTION = "medical_institution", _("Medical institution practice licence (医疗机构执业许可证)")
    BUSINESS = "business", _("Business licence (营业执照)")
    GSP = "gsp", _("GSP certificate")


class CustomerLicence(ChangeTracked):
    """A licence on file for a customer (GSP-5.3, 5.4), with its scope and validity."""

    EDITABLE_FIELDS = (
        "kind",
        "number",
        "name_on_licence",
        "seal_matches",
        "scope",
        "scope_dosage_forms",
        "valid_from",
        "valid_to",
    )
    AUDIT_LABEL_FIELD = "number"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="licences")
    kind = models.CharField(_("licence kind"), max_length=24, choices=LicenceKind.choices)
    number = models.CharField(_("licence number"), max_length=100)
    name_on_licence = models.CharField(_("name on the licence"), max_length=200)
    seal_matches = models.BooleanField(
        _("seal on the copy matches the name"),
        default=False,
        help_text=_("Checked on the copy bearing the customer's original seal (GSP-5.3.1, 5.4.2)."),
    )
    scope = models.TextField(_("business scope (as on the licence)"), blank=True)
    # The dosage forms the scope covers, so the check per product is exact, not a text search.
    scope_dosage_forms = models.JSONField(_("dosage forms covered"), default=list, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer licence")
        verbose_name_plural = _("customer licences")
        ordering = ["kind", "-valid_to", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=models.F("valid_from")), name="aftersales_licence_valid_to_after_from"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


def licence_scan_upload_to(instance: CustomerLicenceScan, filename: str) -> str:
    # The stored name carries no user text; the original name is kept in the row.
    return f"aftersales/licences/{timezone.localdate():%Y/%m}/{instance.sha256[:16]}-{timezone.now():%H%M%S%f}"


class CustomerLicenceScan(ChangeTracked):
    """A scan of a licence copy bearing the customer's seal (GSP-5.3.1, 5.4.2), with the SHA-256
    taken on upload and compared with the stored file whenever it is shown (as QC raw data)."""

    AUDIT_LABEL_FIELD = "original_name"

    licence = models.ForeignKey(
        CustomerLicence, verbose_name=_("licence"), on_delete=models.PROTECT, related_name="scans"
    )
    file = models.FileField(_("file"), upload_to=licence_scan_upload_to, max_length=255)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("file type"), max_length=100, blank=True)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("licence scan")
        verbose_name_plural = _("licence scans")
        ordering = ["licence", "pk"]

    def __str__(self) -> str:
        return self.original_name

    def stored_sha256(self) -> str | None:
        from core.hashing import sha256_stored

        return sha256_stored(self.file)

    def is_intact(self) -> bool:
        return self.stored_sha256() == self.sha256


class CustomerPerson(ChangeTracked):
    """A contact, or a buyer / pick-up person the customer has authorised (GSP 第八十九条)."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Contact")
        BUYER = "buyer", _("Authorised buyer")
        PICKUP = "pickup", _("Authorised pick-up person")

    EDITABLE_FIELDS = ("kind", "name", "id_number", "phone", "authorised_until")
    AUDIT_LABEL_FIELD = "name"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="people")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    id_number = models.CharField(_("ID card number"), max_length=30, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    authorised_until = models.DateField(_("authorisation valid until"), null=True, blank=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer person")
        verbose_name_plural = _("customer people")
        ordering = ["kind", "name", "pk"]

    def __str__(self) -> str:
        return self.name
