"""manage.py restore ARCHIVE — check a backup archive completely, then restore it (R-OPS-1).

Refuses an archive whose manifest seal or any member's SHA-256 does not match (naming the member),
a database or MEDIA_ROOT that is not empty (unless ``--force``), and a database of another kind.
``--check`` verifies the archive and restores nothing. After restoring it runs the integrity
check (``--no-verify`` to skip) and exits 1 on any finding. README "Backup and restore".
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core import integrity
from core.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Verify a backup archive's manifest and restore it into an empty database and MEDIA_ROOT."

    def add_arguments(self, parser) -> None:
        parser.add_argument("archive", help="The releasedesk-backup-….tar.gz to restore.")
        parser.add_argument("--check", action="store_true", help="Only verify the archive; restore nothing.")
        parser.add_argument(
            "--force", action="store_true", help="Overwrite a database and MEDIA_ROOT that are not empty."
        )
        parser.add_argument("--no-verify", action="store_true", help="Skip the integrity check after restoring.")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, archive, check=False, force=False, no_verify=False, database="default", **options):
        try:
            result = restore_backup(archive, using=database, force=force, check_only=check)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        manifest = result.manifest
        self.stdout.write(
            f"archive of {manifest['created_at']}: {manifest['database']['vendor']} database, "
            f"{len(manifest['files']) - 1} stored files; every SHA-256 matches its manifest"
        )
        if check:
            self.stdout.write(self.style.SUCCESS("archive verified (nothing restored)"))
            return
        counts = result.counts
        self.stdout.write(
            f"restored: {counts['signatures']} signatures, {counts['documents']} documents, "
            f"{counts['users']} users; {result.files} stored files (each re-hashed)"
        )
        head = manifest["counts"]["chain_head"]
        self.stdout.write(f"signature chain head: #{counts['chain_head'][0]} (archive: #{head[0]})")
        if result.triggers_recreated:
            self.stdout.write(
                self.style.WARNING(
                    f"append-only triggers were missing on {len(result.triggers_recreated)} table(s) and were "
                    f"re-created: {', '.join(result.triggers_recreated)}"
                )
            )
        else:
            self.stdout.write("append-only triggers: present on every audit table")
        if result.event:
            self.stdout.write(f"security event recorded: {result.event}")
        for note in result.notes:
            self.stdout.write(self.style.WARNING(f"note: {note}"))
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"{len(result.pending_migrations)} migration(s) of this version are not applied: "
                    "run manage.py migrate before opening the site"
                )
            )
        if no_verify:
            self.stdout.write(self.style.SUCCESS("restore complete (integrity check skipped)"))
            return
        report = integrity.run()
        if report.ok:
            self.stdout.write(self.style.SUCCESS("restore complete; integrity check: no findings"))
            return
        for finding in report.findings:
            self.stdout.write(self.style.ERROR(f"FINDING {finding}"))
        self.stdout.write(self.style.ERROR(f"restore complete; integrity check: {len(report.findings)} finding(s)"))
        raise SystemExit(1)
