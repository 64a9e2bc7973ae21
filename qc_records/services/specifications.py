"""Specifications (质量标准): drafts, their test items, approval (signed), new versions, voiding."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from core.concurrency import check_edit_version
from core.models import Signature, User
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    apply_changes,
    move,
    require_permission,
    require_reason,
    save_changed,
    save_step,
    signs,
)
from qc_records.criteria import CriterionKind
from qc_records.models import PRODUCT_CATEGORIES, Specification, SpecificationItem


def _check_spec_subject(spec: Specification) -> None:
    if spec.category in PRODUCT_CATEGORIES:
        if spec.product_id is None:
            raise InputError({"product": [_("Choose the product this specification is for.")]})
    elif not spec.material_name.strip():
        raise InputError({"material_name": [_("Name the material or subject this specification is for.")]})


def specification_create(*, user: User, data: dict[str, Any]) -> Specification:
    """A new specification (version 1) in draft. Its number must not exist yet."""
    require_permission(user, "qc_records.add_specification")
    spec = Specification(last_changed_by=user)
    apply_changes(spec, data)
    spec.code = spec.code.strip()
    _check_spec_subject(spec)
    if Specification.objects.filter(code__iexact=spec.code).exists():
        raise InputError(
            {
                "code": [
                    _("Specification %(code)s already exists; make a new version of it instead.") % {"code": spec.code}
                ]
            }
        )
    try:
        with transaction.atomic():
            spec.save_audited(user=user, reason="created")
    except IntegrityError:
        raise InputError({"code": [_("Specification %(code)s already exists.") % {"code": spec.code}]}) from None
    return spec


def _draft_spec(spec_pk: int) -> Specification:
    spec = Specification.objects.select_for_update().get(pk=spec_pk)
    if spec.status != Specification.Status.DRAFT:
        raise WorkflowError(
            _("%(spec)s is %(status)s: only a draft can be changed. Make a new version instead.")
            % {"spec": spec, "status": spec.get_status_display()}
        )
    return spec


@transaction.atomic
def specification_update(
    *, spec: Specification, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> Specification:
    """Change a draft specification's header (with a reason)."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(spec.pk)
    check_edit_version(spec, version)
    reason = require_reason(reason)
    data = {k: v for k, v in data.items() if k != "code"}  # the number names every version: fixed
    if not apply_changes(spec, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_spec_subject(spec)
    save_changed(spec, user, reason)
    return spec


def _check_item(item: SpecificationItem) -> None:
    errors: dict[str, list[str]] = {}
    if item.criterion_kind == CriterionKind.NUMERIC:
        if item.lower_limit is None and item.upper_limit is None:
            errors["lower_limit"] = [_("A numeric criterion needs a lower limit, an upper limit or both.")]
        elif item.lower_limit is not None and item.upper_limit is not None and item.lower_limit > item.upper_limit:
            errors["upper_limit"] = [_("The upper limit is below the lower limit.")]
        elif (
            item.lower_limit is not None
            and item.lower_limit == item.upper_limit
            and not (item.lower_inclusive and item.upper_inclusive)
        ):
            errors["upper_limit"] = [_("With equal limits both must be inclusive, or no result could comply.")]
    else:
        if item.lower_limit is not None or item.upper_limit is not None:
            errors["lower_limit"] = [_("Limits apply to numeric criteria only.")]
        if item.criterion_kind == CriterionKind.TEXT and not item.text_criterion.strip():
            errors["text_criterion"] = [_("Write the criterion, e.g. 应符合规定.")]
    if not item.name.strip():
        errors["name"] = [_("Name the test item.")]
    if errors:
        raise InputError(errors)


@transaction.atomic
def specification_item_add(*, spec: Specification, user: User, data: dict[str, Any]) -> SpecificationItem:
    """Add a test item to a draft specification."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(spec.pk)
    item = SpecificationItem(specification=spec, last_changed_by=user)
    apply_changes(item, data)
    if "position" not in data or not data["position"]:
        last = spec.items.filter(voided_at__isnull=True).aggregate(m=Max("position"))["m"] or 0
        item.position = last + 1
    _check_item(item)
    item.save_audited(user=user, reason="added")
    save_changed(spec, user, _("test item %(name)s added") % {"name": item.name})
    return item


@transaction.atomic
def specification_item_update(
    *, item: SpecificationItem, user: User, data: dict[str, Any], reason: str, version: int | None = None
) -> SpecificationItem:
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(item.specification_id)
    item = SpecificationItem.objects.select_for_update().get(pk=item.pk)
    check_edit_version(item, version)
    if item.is_voided:
        raise WorkflowError(_("This test item was removed."))
    reason = require_reason(reason)
    if not apply_changes(item, data):
        raise WorkflowError(_("Nothing was changed."))
    _check_item(item)
    save_changed(item, user, reason)
    save_changed(spec, user, _("test item %(name)s changed: %(reason)s") % {"name": item.name, "reason": reason})
    return item


@transaction.atomic
def specification_item_remove(*, item: SpecificationItem, user: User, reason: str) -> SpecificationItem:
    """Remove a test item from a draft (voided, stays in the history)."""
    require_permission(user, "qc_records.change_specification")
    spec = _draft_spec(item.specification_id)
    item = SpecificationItem.objects.select_for_update().get(pk=item.pk)
    reason = require_reason(reason)
    if item.is_voided:
        raise WorkflowError(_("This test item was already removed."))
    item.voided_at = timezone.now()
    item.void_reason = reason
    save_changed(item, user, reason)
    save_changed(spec, user, _("test item %(name)s removed: %(reason)s") % {"name": item.name, "reason": reason})
    return item


def cannot_approve_specification(spec: Specification, user: User) -> str | None:
    """Why ``user`` may not approve ``spec``, or None: nobody approves a version they created or
    changed, header or test items (R-SEQ-2). One rule for the service, the page and the My-work
    queue: all three read ``Specification.objects.not_authored_by``."""
    if not Specification.objects.filter(pk=spec.pk).not_authored_by(user).exists():
        return _("You wrote or changed this specification; another person must approve it.")
    return None


@signs(Signature.Meaning.APPROVED)
def specification_approve(
    *, spec: Specification, user: User, password: str, comment: str = "", request: HttpRequest | None = None
) -> Specification:
    """Approve a draft specification with a signature; it comes into force today and the version
    in force before it is superseded.

    Preconditions: draft, at least one test item, the approver wrote none of it (R-SEQ-2).
    Records: history rows (this version → approved, previous → superseded), Signature "Approved".
    """
    require_permission(user, "qc_records.approve_specification")
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        # Lock every version of this number: two approvals of the same number run one at a time.
        versions = {s.pk: s for s in Specification.objects.select_for_update().filter(code=spec.code)}
        spec = versions[spec.pk]
        move(spec, Specification.Status.APPROVED)
        items = list(spec.items.filter(voided_at__isnull=True).order_by("position", "pk"))
        if not items:
            raise WorkflowError(_("A specification needs at least one test item before it can be approved."))
        refusal = cannot_approve_specification(spec, user)
        if refusal:
            raise WorkflowError(refusal)
        now = timezone.now()
        for other in versions.values():
            if other.pk != spec.pk and other.status == Specification.Status.APPROVED:
                move(other, Specification.Status.SUPERSEDED)
                other.superseded_at = now
                save_step(other, user, _("superseded by version %(v)s") % {"v": spec.version})
        spec.approved_by = user
        spec.approved_at = now
        spec.effective_from = timezone.localdate()
        spec.content_digest = spec.compute_content_digest(items)
        try:
            with transaction.atomic():
                save_step(spec, user, comment or "approved")
        except IntegrityError:
            raise WorkflowError(
                _("Another version of %(code)s was approved at the same time.") % {"code": spec.code}
            ) from None
        sign(credential=credential, record=spec, meaning=specification_approve.meaning, comment=comment)
    return spec


@transaction.atomic
def specification_new_version(*, spec: Specification, user: User) -> Specification:
    """Start the next version of a specification as a draft copy of the latest version."""
    require_permission(user, "qc_records.add_specification")
    versions = list(Specification.objects.select_for_update().filter(code=spec.code).order_by("-version"))
    if any(v.status == Specification.Status.DRAFT for v in versions):
        raise WorkflowError(_("A draft version of %(code)s already exists; change that one.") % {"code": spec.code})
    latest = versions[0]
    new = Specification(
        code=latest.code,
        version=latest.version + 1,
        title=latest.title,
        category=latest.category,
        product=latest.product,
        material_name=latest.material_name,
        standard_reference=latest.standard_reference,
        last_changed_by=user,
    )
    new.save_audited(user=user, reason=_("new version of %(spec)s") % {"spec": latest})
    for it in latest.items.filter(voided_at__isnull=True).order_by("position", "pk"):
        copy = SpecificationItem(specification=new, last_changed_by=user)
        for name in SpecificationItem.EDITABLE_FIELDS:
            setattr(copy, name, getattr(it, name))
        copy.save_audited(user=user, reason=_("copied from %(spec)s") % {"spec": latest})
    return new


@transaction.atomic
def specification_void(*, spec: Specification, user: User, reason: str) -> Specification:
    """Void a draft that will not be approved."""
    require_permission(user, "qc_records.change_specification")
    spec = Specification.objects.select_for_update().get(pk=spec.pk)
    move(spec, Specification.Status.VOIDED)
    reason = require_reason(reason, _("Give a reason for voiding."))
    spec.voided_at = timezone.now()
    spec.void_reason = reason
    save_step(spec, user, reason)
    return spec
