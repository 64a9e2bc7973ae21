"""manage.py enqueue_nightly — queue the nightly jobs for the background worker (cron or a systemd
timer runs this once a night; README "Background jobs"). Today: the integrity check."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.jobs import integrity_check_job


class Command(BaseCommand):
    help = "Queue the nightly background jobs (the integrity check) for manage.py db_worker."

    def handle(self, *args, **options) -> None:
        result = integrity_check_job.enqueue()
        self.stdout.write(f"queued integrity check: job {result.id} ({result.status})")
