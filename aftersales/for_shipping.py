"""What after-sales publishes for the distribution form (R-SHIP-3; sop-checklists B.3).

``customer_may_buy(customer, product, on)`` lists every reason the customer may not be sold the
product on that day; an empty list means the qualification allows it. The batch itself (released,
held, expired) is release's shipping gate, asked separately.
"""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext as _

from aftersales.models import Customer, CustomerLicence, CustomerType, LicenceKind

# GSP-5.3.1 / 5.4.1: the licences a customer of each type must hold to be supplied.
REQUIRED_LICENCES = {
    CustomerType.DISTRIBUTOR: (LicenceKind.DRUG_BUSINESS, LicenceKind.BUSINESS),
    CustomerType.PHARMACY: (LicenceKind.DRUG_BUSINESS, LicenceKind.BUSINESS),
    CustomerType.OTHER: (LicenceKind.DRUG_BUSINESS, LicenceKind.BUSINESS),
    # A medical institution's business licence is checked if it has one (5.4.3), not required.
    CustomerType.HOSPITAL: (LicenceKind.MEDICAL_INSTITUTION,),
}
# The licence whose business scope must cover the product (GSP-5.3.3).
SCOPE_LICENCE = LicenceKind.DRUG_BUSINESS


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def customer_may_buy(customer: Customer, product, on: date) -> list[str]:
    """Every reason ``customer`` may not buy ``product`` (release.Product) on ``on``; [] if none."""
    reasons: list[str] = []
    if customer.customer_type == CustomerType.CHAIN_OUTLET:
        # GSP-5.3.4: outlets of a retail chain are supplied by their headquarters, never by us.
        reasons.append(
            _("%(customer)s is a chain-pharmacy outlet: outlets are never supplied (GSP-5.3.4).")
            % {"customer": customer}
        )
        return reasons
    if customer.status != Customer.Status.QUALIFIED:
        reasons.append(_("%(customer)s is not in the qualified-customer file (GSP-5.5).") % {"customer": customer})
    if not _same_name(customer.seal_name, customer.name):
        reasons.append(
            _("The seal name %(seal)s does not match the customer name (GSP-5.3.1).") % {"seal": customer.seal_name}
        )
    licences = list(CustomerLicence.objects.filter(customer=customer).order_by("-valid_to", "pk"))
    required = REQUIRED_LICENCES.get(customer.customer_type, ())
    for kind in {*required, *(lic.kind for lic in licences)}:
        of_kind = [lic for lic in licences if lic.kind == kind]
        label = LicenceKind(kind).label
        if not of_kind:
            reasons.append(_("No %(licence)s on file.") % {"licence": label})
            continue
        valid = [lic for lic in of_kind if lic.is_valid_on(on)]
        if not valid:
            if kind in required or kind == LicenceKind.BUSINESS:
                latest = of_kind[0]
                reasons.append(
                    _("The %(licence)s %(number)s is not valid on %(day)s (valid %(start)s to %(end)s).")
                    % {
                        "licence": label,
                        "number": latest.number,
                        "day": on.isoformat(),
                        "start": latest.valid_from.isoformat(),
                        "end": latest.valid_to.isoformat(),
                    }
                )
            continue
        licence = valid[0]
        if not _same_name(licence.name_on_licence, customer.name):
            reasons.append(
                _("The name on the %(licence)s (%(name)s) does not match the customer name (GSP-5.3.1).")
                % {"licence": label, "name": licence.name_on_licence}
            )
        if not licence.seal_matches:
            reasons.append(
                _("The seal on the %(licence)s copy has not been confirmed to match the name (GSP-5.3.1).")
                % {"licence": label}
            )
        if (
            kind == SCOPE_LICENCE
            and product is not None
            and product.dosage_form not in (licence.scope_dosage_forms or [])
        ):
            reasons.append(
                _("The business scope of licence %(number)s does not cover %(form)s (GSP-5.3.3).")
                % {"number": licence.number, "form": product.get_dosage_form_display()}
            )
    return reasons
