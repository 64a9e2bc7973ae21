from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def plain_number(value):
    """300000.000 → "300000", 0.250 → "0.25": no trailing zeros and never scientific notation."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return value
    text = format(number.normalize(), "f")
    return text


@register.filter
def local_dt(value, precision: str = "seconds") -> str:
    """A time in the site's zone with an unambiguous offset: "2026-11-30 08:40:12 UTC+08:00".

    ("CST" would also read as US Central Standard Time to an inspector.)
    """
    if not value:
        return ""
    local = timezone.localtime(value)
    offset = local.strftime("%z") or "+0000"
    fmt = "%Y-%m-%d %H:%M" if precision == "minutes" else "%Y-%m-%d %H:%M:%S"
    return f"{local.strftime(fmt)} UTC{offset[:3]}:{offset[3:]}"


@register.inclusion_tag("includes/integrity_banner.html")
def integrity_banner(record, as_loaded=False):
    """A red banner when the record's state is not what its signatures and audit trail say
    (issue 8 item 3): e.g. set to approved by SQL, or its verdict changed after signing.
    ``as_loaded=True``: the view read the record in this request, unchanged (one query less)."""
    from core.integrity import state_problems

    return {"problems": state_problems(record, as_loaded=as_loaded) if record is not None and record.pk else []}
