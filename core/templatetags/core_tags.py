from decimal import Decimal, InvalidOperation

from django import template

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
