"""Template tags for PDF documents: labels in both languages, printed times, the QR code (R-UX-1)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from django import template
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.pdf import DOCUMENT_LANGUAGES, is_bilingual

register = template.Library()

_HTML_LANG = {"zh-hans": "zh-Hans", "en": "en"}
# {% bilingual _("Batch number") %}: the _() is what makemessages looks for inside any tag, so the
# English text lands in the catalogue like a {% translate %} string.
_MSGID_RE = re.compile(r"""^_\((?P<q>["'])(?P<text>.*)(?P=q)\)$""")


def _both(texts: dict[str, str]) -> SafeString:
    """中文 / English side by side; one text when there is no translation (yet)."""
    zh, en = (texts.get(lang, "") for lang in DOCUMENT_LANGUAGES)
    if not zh or zh == en:
        return format_html('<span class="bi" lang="en">{}</span>', en or zh)
    return format_html(
        '<span class="bi"><span lang="{}">{}</span><span class="bi-sep"> / </span><span lang="{}">{}</span></span>',
        _HTML_LANG[DOCUMENT_LANGUAGES[0]],
        zh,
        _HTML_LANG[DOCUMENT_LANGUAGES[1]],
        en,
    )


class BilingualNode(template.Node):
    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def render(self, context: template.Context) -> str:
        texts = {}
        for lang in DOCUMENT_LANGUAGES:
            with translation.override(lang):
                texts[lang] = translation.gettext(self.msgid)
        return _both(texts)


@register.tag
def bilingual(parser: template.base.Parser, token: template.base.Token) -> BilingualNode:
    """``{% bilingual _("Batch number") %}`` → ``批号 / Batch number``."""
    bits = token.split_contents()
    match = _MSGID_RE.match(bits[1]) if len(bits) == 2 else None
    if match is None:
        raise template.TemplateSyntaxError(
            'Write {% bilingual _("English text") %}: one string, wrapped in _() so that makemessages finds it.'
        )
    return BilingualNode(match["text"])


@register.filter(name="bilingual")
def bilingual_filter(value: Any) -> str:
    """A frozen value in both languages (``{"zh-hans": …, "en": …}``) side by side; others as they are."""
    if is_bilingual(value):
        return _both(value)
    return "" if value is None else value


@register.filter
def doc_datetime(value: Any, zone: str = "") -> str:
    """A frozen ISO time as printed on documents: ``2026-05-10 14:03:22 UTC+08:00 (Asia/Shanghai)``.

    R-SIG-2: a printed time always says which zone it is in.
    """
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    try:
        tz = ZoneInfo(zone) if zone else timezone.get_default_timezone()
    except (ZoneInfoNotFoundError, ValueError):
        tz = timezone.get_default_timezone()
    local = moment.astimezone(tz)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} UTC{offset[:3]}:{offset[3:]} ({tz})"


@register.filter
def qr_data_uri(value: str, size: int = 2) -> str:
    """An SVG QR code of ``value`` as a data: URI (WeasyPrint embeds it; no file, no network)."""
    return segno.make(str(value), error="m").svg_data_uri(scale=int(size), border=0)


@register.filter
def localised(value: Any) -> Any:
    """A frozen bilingual value in the language of the page (web pages show one language)."""
    if is_bilingual(value):
        lang = translation.get_language() or DOCUMENT_LANGUAGES[0]
        key = lang if lang in value else ("zh-hans" if lang.startswith("zh") else "en")
        return value.get(key) or value.get("en", "")
    return value
