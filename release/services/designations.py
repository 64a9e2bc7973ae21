"""QP designations (质量受权人授权): entered by an administrator from the company's authorisation
letter, never by a qualified person (ZL-086 4.4.4: no delegation; R-REL-5).

Each designation is mirrored as the django-guardian object permission ``release.decide_batch`` on
its product; the release services check both (the permission, and a designation valid today).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from core.models import User
from core.roles import QUALIFIED_PERSON
from core.workflow import InputError, WorkflowError, move, require_permission, require_reason, save_step
from release.models import Product, QPDesignation

DECIDE = "release.decide_batch"


def cannot_designate(user: User) -> str | None:
    if not user.has_perm("release.add_qpdesignation"):
        return _("You do not have permission to do this.")
    if user.groups.filter(name=QUALIFIED_PERSON).exists() or user.has_perm("release.decide_release"):
        # ZL-086 4.4.4: a QP can never pass release rights on, not even holding another role.
        return _("A qualified person cannot grant designations.")
    return None


def _sync_permission(person: User, product: Product) -> None:
    """The object permission follows the designations: held while any one is active."""
    if QPDesignation.objects.filter(person=person, product=product, status=QPDesignation.Status.ACTIVE).exists():
        assign_perm(DECIDE, person, product)
    else:
        remove_perm(DECIDE, person, product)


def designation_create(
    *,
    user: User,
    person: User,
    products: Iterable[Product],
    letter_number: str,
    valid_from: date,
    valid_to: date,
    factory_release: bool = True,
    market_release: bool = True,
    deputy: bool = False,
) -> list[QPDesignation]:
    """Record a designation (one row per product) and grant the object permission."""
    require_permission(user, "release.add_qpdesignation")
    if refusal := cannot_designate(user):
        raise WorkflowError(refusal)
    products = list(products)
    errors: dict[str, list[str]] = {}
    if person.pk == user.pk:
        errors["person"] = [_("Nobody designates themselves.")]
    elif not person.groups.filter(name=QUALIFIED_PERSON).exists():
        errors["person"] = [_("Only a person with the qualified person role can be designated.")]
    if not products:
        errors["products"] = [_("Choose at least one product.")]
    if not (letter_number or "").strip():
        errors["letter_number"] = [_("Enter the number of the authorisation letter.")]
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = [_("The end of validity cannot be before its start.")]
    if not (factory_release or market_release):
        errors["factory_release"] = [_("Choose factory release, market release or both.")]
    if errors:
        raise InputError(errors)
    created = []
    with transaction.atomic():
        for product in products:
            designation = QPDesignation(
                person=person,
                product=product,
                letter_number=letter_number.strip(),
                valid_from=valid_from,
                valid_to=valid_to,
                factory_release=factory_release,
                market_release=market_release,
                deputy=deputy,
                last_changed_by=user,
            )
            designation.save_audited(user=user, reason="designated")
            _sync_permission(person, product)
            created.append(designation)
    return created


def designation_revoke(*, designation: QPDesignation, user: User, reason: str) -> QPDesignation:
    """End a designation early (with a reason); the object permission goes with the last one."""
    require_permission(user, "release.change_qpdesignation")
    if refusal := cannot_designate(user):
        raise WorkflowError(refusal)
    reason = require_reason(reason)
    with transaction.atomic():
        designation = QPDesignation.objects.select_for_update().get(pk=designation.pk)
        move(designation, QPDesignation.Status.REVOKED)
        designation.revoke_reason = reason
        save_step(designation, user, reason)
        _sync_permission(designation.person, designation.product)
    return designation
