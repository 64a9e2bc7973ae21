"""How long does one bilingual two-page document take to render? (core.pdf; R-UX-1)

    DEBUG=1 .venv/bin/python benchmarks/pdf_render.py [N]

Renders templates/pdf/specimen.html (two A4 pages, Chinese and English, signatures, QR footer)
N times (default 10) — template → HTML → WeasyPrint PDF → SHA-256, the work issue_document does
before it writes the file and the row — and prints seconds per document. The first render,
which loads the CJK fonts, is reported separately. Needs no database.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from core import pdf  # noqa: E402

TESTS = [
    ("性状 Appearance", "本品为胶囊剂，内容物为白色粉末", "符合规定"),
    ("鉴别 Identification (HPLC)", "保留时间与对照品一致", "符合规定"),
    ("溶出度 Dissolution", "≥ 80% (30 min)", "92%"),
    ("含量 Assay", "90.0% – 110.0%", "99.5%"),
    ("有关物质 Related substances", "单个杂质 ≤ 0.5%", "0.12%"),
    ("微生物限度 Microbial limits", "需氧菌总数 ≤ 10³ cfu/g", "< 10 cfu/g"),
]


def specimen_context() -> dict:
    now = timezone.now()
    rows = [
        {"item": f"{item} {n // len(TESTS) + 1}", "criterion": criterion, "result": result, "conclusion": _("Complies")}
        for n, (item, criterion, result) in enumerate(TESTS * 6)
    ]
    code = pdf.new_verification_code()
    return pdf.freeze(
        {
            "rows": rows,
            "remarks": "依据《中国药典》2020年版二部检验，结果符合规定。\nTested to ChP 2020 Vol. II; complies.",
            "document": {
                "kind": "specimen",
                "number": "SPEC-0001",
                "version": 1,
                "supersedes_version": None,
                "title": _("Specimen document"),
                "record": "样品 Specimen",
                "verification_code": code,
                "verification_code_display": "-".join(code[i : i + 4] for i in range(0, 16, 4)),
                "verify_url": pdf.verify_url(code),
                "issued_at": now,
                "time_zone": str(timezone.get_default_timezone()),
                "issued_by": "张三 (benchmark)",
            },
            "signatures": [
                {
                    "id": 0,
                    "printed_name": name,
                    "username": user,
                    "meaning": meaning,
                    "meaning_label": {"zh-hans": zh, "en": en},
                    "signed_at": now,
                    "time_zone": "Asia/Shanghai",
                    "record": "样品 Specimen",
                    "comment": "",
                    "valid": True,
                }
                for name, user, meaning, zh, en in [
                    ("李四", "qc_analyst", "tested", "检验", "Tested"),
                    ("王五", "qc_reviewer", "reviewed", "复核", "Reviewed"),
                    ("赵六", "qc_head", "approved", "批准", "Approved"),
                ]
            ],
        }
    )


def render_once(context: dict) -> bytes:
    data = pdf.render_pdf("pdf/specimen.html", context)
    hashlib.sha256(data).hexdigest()
    return data


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    context = specimen_context()
    start = time.perf_counter()
    data = render_once(context)
    first = time.perf_counter() - start
    try:
        from pypdf import PdfReader

        pages = len(PdfReader(io.BytesIO(data)).pages)
    except ImportError:
        pages = "?"
    start = time.perf_counter()
    for _i in range(n):
        render_once(context)
    per_doc = (time.perf_counter() - start) / n
    print(f"pages per document: {pages}, size: {len(data) / 1024:.0f} KiB")
    print(f"first render (loads fonts): {first:.3f} s")
    print(f"seconds per document over {n} renders: {per_doc:.3f}")


if __name__ == "__main__":
    main()
