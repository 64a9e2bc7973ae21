from datetime import UTC, datetime

from django.utils import translation

from core.audit_trail import SYSTEM_REASONS, AuditEntry
from release.models import Product


def _entry(reason: str) -> AuditEntry:
    return AuditEntry(
        when=datetime.now(UTC), user_id=None, model=Product, object_id=1, record_label="x", action="~", reason=reason
    )


def test_fixed_reasons_written_by_services_read_in_the_readers_language():
    """R-UX-1, R-AT-5: "started" (QC) and "registered" (release) read as Chinese in zh-hans."""
    assert {"started", "results recorded", "registered"} <= SYSTEM_REASONS
    with translation.override("zh-hans"):
        assert _entry("started").reason_display == "已建立"
        assert _entry("results recorded").reason_display == "已记录结果"
    with translation.override("en"):
        assert _entry("started").reason_display == "started"


def test_a_reason_typed_by_a_person_is_shown_as_typed():
    with translation.override("zh-hans"):
        assert _entry("reviewed").reason_display == "已复核"
        assert (
            _entry("reviewed by mistake, see deviation DV-12").reason_display
            == "reviewed by mistake, see deviation DV-12"
        )
