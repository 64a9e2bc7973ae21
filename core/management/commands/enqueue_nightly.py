"""manage.py enqueue_nightly — queue the nightly jobs for the background worker (cron or a systemd
timer runs this once a night; README "Background jobs"): the integrity check and the reminders."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.jobs import integrity_check_job, recover_stuck_jobs, send_reminders_job


class Command(BaseCommand):
    help = "Queue the nightly background jobs (integrity check, reminders) for manage.py db_worker."

    def handle(self, *args, **options) -> None:
        for found in recover_stuck_jobs():  # a worker that died since yesterday: say so, re-queue documents
            self.stdout.write(str(found))
        result = integrity_check_job.enqueue()
        self.stdout.write(f"queued integrity check: job {result.id} ({result.status})")
        result = send_reminders_job.enqueue()
        self.stdout.write(f"queued reminders: job {result.id} ({result.status})")
