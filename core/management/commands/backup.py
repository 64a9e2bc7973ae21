"""manage.py backup — the database and every stored file in one dated, sealed archive (R-OPS-1).

Writes ``releasedesk-backup-YYYYMMDD-HHMMSS.tar.gz`` into ``BACKUP_DIR`` (or ``--output-dir``) and
prints its path and SHA-256 (keep that line with the off-site copy). ``--keep N`` then deletes all
but the newest N archives there. README "Backup and restore".
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, archives_in, create_backup


class Command(BaseCommand):
    help = "Back up the database and MEDIA_ROOT into one dated archive with a SHA-256 manifest."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output-dir", default="", help="Where the archive goes (default: BACKUP_DIR).")
        parser.add_argument("--keep", type=int, default=None, help="Then keep only the newest N archives there.")
        parser.add_argument("--database", default="default", help="The database alias (default: default).")

    def handle(self, *args, output_dir="", keep=None, database="default", **options) -> None:
        directory = output_dir or getattr(settings, "BACKUP_DIR", "")
        if not directory:
            raise CommandError("No backup location: set BACKUP_DIR or pass --output-dir.")
        if keep is not None and keep < 1:
            raise CommandError("--keep must be at least 1.")
        try:
            result = create_backup(directory=Path(directory), using=database)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        files = len(result.manifest["files"]) - 1
        counts = result.manifest["counts"]
        self.stdout.write(f"archive: {result.path}")
        self.stdout.write(f"sha256:  {result.sha256}")
        self.stdout.write(
            f"database: {result.manifest['database']['vendor']} ({result.manifest['database']['tool']}); "
            f"{counts['signatures']} signatures, {counts['documents']} documents; {files} stored files"
        )
        if keep is not None:
            for old in archives_in(directory)[:-keep]:
                old.unlink()
                self.stdout.write(f"deleted old archive: {old.name}")
        self.stdout.write(self.style.SUCCESS("backup complete"))
