"""manage.py recover_stuck_jobs — fail, visibly, every background job left running by a worker that
died (killed, out of memory, host lost), and re-queue a document issue as its next attempt
(core.jobs.recover_stuck_jobs). Run it before each worker starts (the systemd unit's ExecStartPre,
bin/demo); ``enqueue_nightly`` runs it too. Exits 0; prints one line per job recovered."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.jobs import recover_stuck_jobs


class Command(BaseCommand):
    help = "Fail background jobs whose worker died (running longer than JOBS_STUCK_MINUTES); re-queue document issues."

    def handle(self, *args, **options) -> None:
        recovered = recover_stuck_jobs()
        for found in recovered:
            self.stdout.write(str(found))
        self.stdout.write(f"{len(recovered)} stuck job(s) recovered")
