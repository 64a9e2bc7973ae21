from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.links import link

# (label, url name, permission needed) — navigation shows only what the person may open.
NAVIGATION = [
    (_("My work"), "core:my_work", None),
    (_("Products"), "release:product_list", "release.view_product"),
    (_("Batches"), "release:batch_list", "release.view_batch"),
    (_("Material lots"), "release:materiallot_list", "release.view_materiallot"),
    (_("Release register"), "release:register", "release.view_releasereview"),
    (_("Deviations"), "release:deviation_list", "release.view_deviation"),
    (_("Change controls"), "release:changecontrol_list", "release.view_changecontrol"),
    (_("QC"), "qc_records:index", "qc_records.view_testrecord"),
    (_("After-sales"), "aftersales:feedback_list", "aftersales.view_feedback"),
    (_("Customers"), "aftersales:customer_list", "aftersales.view_customer"),
    (_("Distribution records"), "aftersales:shipment_list", "aftersales.view_shipment"),
    (_("Recalls"), "recalls:recall_list", "recalls.view_recall"),
    (_("Audit trail"), "core:audit_search", "core.view_audit_trail"),
    (_("Integrity check"), "core:integrity", "core.view_audit_trail"),
    (_("QP designations"), "release:designation_list", "release.add_qpdesignation"),
    (_("Locked accounts"), "core:locked_users", ("core.unlock_user", "core.view_authevent")),
    (_("Password resets"), "password_resets", ("core.view_audit_trail", "core.view_authevent")),
    (_("Verify a document"), "core:document_lookup", None),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        path = request.path
        for label, name, perm in NAVIGATION:
            needed = (perm,) if isinstance(perm, str) else perm
            if needed is None or any(user.has_perm(p) for p in needed):
                url = link(name)  # resolved once per process (core.links)
                active = path == url if url == "/" else path.startswith(url)
                items.append({"label": label, "url": url, "active": active})
    return {
        "nav_items": items,
        "site_name": settings.SITE_NAME,
        "time_zone_name": settings.TIME_ZONE,
    }
