"""manage.py verify_integrity — re-verify signatures, the chain, documents, files and states (R-SIG-3, R-AT-3).

Exits 0 when everything verifies, 1 on any finding (for a nightly job that alerts QA).

It prints the chain head as ``<count>:<hash>`` (how many signatures, the newest one's hash). Keep
that line outside the database (the nightly job's log, a ticket, a printout) and give it back next
time with ``--expect-head <count>:<hash>``: a chain whose newest signatures were deleted and whose
head row was rewound by someone with database owner rights verifies on its own, but not against a
head kept elsewhere.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core import integrity


class Command(BaseCommand):
    help = "Re-verify every signature, the signature chain, issued documents, stored files and record states."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Only the most recent N rows of each kind.")
        parser.add_argument(
            "--expect-head",
            default=None,
            metavar="COUNT:HASH",
            help="The chain head an earlier run printed (kept outside the database): finds a rewound chain tail.",
        )

    def handle(self, *args, limit=None, expect_head=None, **options) -> None:
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        expected = None
        if expect_head is not None:
            try:
                expected = integrity.parse_head(expect_head)
            except ValueError:
                raise CommandError(
                    "--expect-head takes the head an earlier run printed: <count>:<64 hex digits>"
                ) from None
        report = integrity.run(limit=limit, expect_head=expected)
        out = self.stdout
        out.write(f"Release Desk integrity check {report.started_at:%Y-%m-%d %H:%M:%S %Z}")
        out.write("scope: " + (f"the most recent {limit} rows of each kind" if limit else "everything"))
        for what, n in report.checked.items():
            out.write(f"  checked {n} {what}")
        head_id, head_hash = report.chain_head
        # Keep this line outside the database (the nightly report): it anchors the chain's end.
        out.write(f"  chain head: {report.signature_count}:{head_hash} (signature #{head_id})")
        out.write(f"  keep it outside the database; next run: --expect-head {report.signature_count}:{head_hash}")
        if expected is not None:
            out.write(f"  expected head: {expected[0]}:{expected[1]}")
        for note in report.notes:
            out.write(f"  note: {note}")
        seconds = (report.finished_at - report.started_at).total_seconds()
        if report.ok:
            out.write(self.style.SUCCESS(f"OK: no findings ({seconds:.1f} s)"))
            return
        for finding in report.findings:
            out.write(self.style.ERROR(f"FINDING {finding}"))
        out.write(self.style.ERROR(f"{len(report.findings)} finding(s) ({seconds:.1f} s)"))
        raise SystemExit(1)
