"""How long does the nightly integrity check take at ten-year volume? (core.integrity; issue 8 item 4)

    .venv/bin/python benchmarks/verify_integrity.py [N] [SUPERSEDED]
    BENCH_DATABASE_URL=postgres://…/scratch .venv/bin/python benchmarks/verify_integrity.py --existing

``--existing``: builds nothing; times the whole check (``integrity.run()``, what the nightly
``manage.py verify_integrity`` runs) on the database BENCH_DATABASE_URL names, as it is (one made
by ``manage.py generate_volume``; the check only reads), and prints each check's seconds and
queries, the rows it covered (signatures; records of every audited model; their audit-trail
rows), rows per second, and the load average before and after (the machine is shared: figures
taken at different loads are not comparable). See benchmarks/README.md for measured figures.

Builds a scratch SQLite database in a temporary directory (never touches DATABASE_URL unless
BENCH_DATABASE_URL names a scratch database), writes N keyed, chained signatures (default
100000) over 1,000 products exactly as ``core.signatures.sign`` would (bulk inserts, to build
fast); a share SUPERSEDED (default 0.1) of the products is then changed through the
application (an audit-trail row after the signing), so their signatures are superseded by an
audited change, as after a reopening; then times ``integrity.run()`` — every signature re-hashed against its record, the chain,
the chain head and the state check — and prints seconds, signatures per second, the query count
and the time extrapolated to 1.4 million signatures (ten years of a large site).

Figures (2-CPU machine shared with other sessions, 20,000 signatures):
    SQLite:      about 1.6 s                                    (≈ 2 min for 1.4 million)
    PostgreSQL:  4.6 s, 4,344 signatures/s, 66 queries (2026-11-30; ≈ 5.4 min for 1.4 million)
      SIGNATURE_KEY=… BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch db> \
      .venv/bin/python benchmarks/verify_integrity.py 20000
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.mkdtemp(prefix="rd-bench-")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{_tmp}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
if "--existing" not in sys.argv[1:]:  # an existing database keeps its own files (issued PDFs)
    os.environ.setdefault("MEDIA_ROOT", _tmp)

import django  # noqa: E402

django.setup()

from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone, translation  # noqa: E402

from core import integrity, keys  # noqa: E402
from core.models import Signature, SignatureChain, User  # noqa: E402
from release.models import Product  # noqa: E402

PRODUCTS = 1000
OF_THEM_SUPERSEDED = "of them superseded by a later audited change"
BATCH = 5000


def build(n: int, superseded: float) -> None:
    call_command("migrate", verbosity=0)
    signer = User.objects.create_user("bench.qa", password="bench-password-1", full_name="基准 QA")
    products = []
    for i in range(PRODUCTS):
        product = Product(
            name=f"基准胶囊{i}",
            generic_name=f"Bench Capsules {i}",
            dosage_form="capsule",
            strength="0.25g",
            pack_size="24粒/盒",
            approval_number=f"国药准字H{i:08d}",
            shelf_life_months=24,
            storage_conditions="密封",
            mah="基准药业",
            manufacturer="基准药业",
            last_changed_by=signer,
        )
        product.save()
        products.append(product)
    ct = ContentType.objects.get_for_model(Product)
    kid = keys.current_key_id()
    previous = ""
    now = timezone.now()
    made = 0
    while made < n:
        rows = []
        for i in range(made, min(n, made + BATCH)):
            product = products[i % PRODUCTS]
            sig = Signature(
                signer=signer,
                printed_name=signer.printed_name,
                meaning=Signature.Meaning.REVIEWED,
                signed_at=now,
                content_type=ct,
                object_id=product.pk,
                record_label=str(product),
                key_id=kid,
                previous_hash=previous,
            )
            sig.record_hash = sig.expected_hash(product)
            previous = sig.record_hash
            rows.append(sig)
        with transaction.atomic():
            Signature._base_manager.bulk_create(rows)
        made += len(rows)
    # Changed through the application after signing: these products' signatures no longer verify
    # against the product as it is, but against its audit-trail row as signed (superseded).
    for product in products[: round(PRODUCTS * superseded)]:
        product.strength = "0.5g"
        product._change_reason = "基准：规格变更"
        product.save()
    last = Signature.objects.order_by("-id").first()
    SignatureChain.objects.update_or_create(
        pk=SignatureChain.HEAD_PK, defaults={"last_signature_id": last.pk, "last_hash": last.record_hash}
    )


def existing() -> None:
    """Time integrity.run() on an existing (generated) database, check by check."""
    from django.apps import apps

    if not os.environ.get("BENCH_DATABASE_URL"):
        sys.exit("--existing needs BENCH_DATABASE_URL (a scratch database made by generate_volume)")
    audited = integrity.audited_models()
    signatures = Signature.objects.count()
    records = sum(m._base_manager.count() for m in audited)
    history = sum(m.history.model.objects.count() for m in audited)
    every_history = sum(m.objects.count() for m in apps.get_models() if m.__name__.startswith("Historical"))
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}: {signatures:,} signatures, "
        f"{records:,} records of {len(audited)} audited signed models with {history:,} audit-trail rows "
        f"({every_history:,} audit-trail rows in all)"
    )
    timings: dict[str, tuple[float, int]] = {}
    checks = list(integrity._checks)

    def timed(check):
        def run(report):
            started = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                check(report)
            timings[check.__name__] = (time.perf_counter() - started, len(queries))

        return run

    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    integrity._checks[:] = [timed(check) for check in checks]
    try:
        started = time.perf_counter()
        with translation.override("en"):
            report = integrity.run()
        seconds = time.perf_counter() - started
    finally:
        integrity._checks[:] = checks
    print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, (took, queries) in timings.items():
        print(f"  {name:28} {took:8.1f} s {queries:6} queries")
    rows = signatures + records
    print(
        f"verify_integrity: {seconds:.1f} s, {len(report.findings)} finding(s); "
        f"{rows:,} signatures and records ({rows / seconds:,.0f}/s), {history:,} audit-trail rows"
    )
    for finding in report.findings[:5]:
        print(f"  {finding}")


def main() -> None:
    if "--existing" in sys.argv[1:]:
        existing()
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    superseded = float(sys.argv[2]) if len(sys.argv) > 2 else 0.1
    started = time.perf_counter()
    build(n, superseded)
    print(f"built {n} signatures over {PRODUCTS} products in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries, translation.override("en"):
        report = integrity.run()
    seconds = time.perf_counter() - started
    assert report.ok, [str(f) for f in report.findings[:5]]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"verify_integrity: {n} signatures ({report.checked.get(OF_THEM_SUPERSEDED, 0)} superseded) in "
        f"{seconds:.1f} s ({n / seconds:,.0f}/s, {len(queries)} queries); "
        f"1.4 million would take about {1_400_000 / n * seconds / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
