"""Fill a scratch PostgreSQL database with ten years of data for the benchmarks (issue 12).

    DATABASE_URL=postgres://…/scratch manage.py migrate
    DATABASE_URL=postgres://…/scratch manage.py seed_demo
    DATABASE_URL=postgres://…/scratch manage.py generate_volume --scale 1.0

How the rows are made (server-side INSERT … SELECT copies of the demo's records, history rows
INSERTed under the append-only triggers, signatures through the base manager with the real keyed
hash chain) is explained in ``core/volume.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.volume import PLAN, Generator, VolumeError


class Command(BaseCommand):
    help = "Multiply the demo data to a plant's ten-year volume (PostgreSQL scratch databases only)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 batches, 1,000,000 shipments")
        parser.add_argument(
            "--only", default="", help="comma-separated model labels (app.Model) to generate; default all"
        )
        parser.add_argument(
            "--scale-of",
            action="append",
            default=[],
            metavar="LABEL=SCALE",
            help="another scale for one model, e.g. aftersales.Shipment=1.0 (repeatable)",
        )
        parser.add_argument(
            "--documents",
            action="store_true",
            help="only issue the documents (on a database generated before that step existed)",
        )
        parser.add_argument("--i-know-this-is-scratch", action="store_true", dest="scratch")

    def handle(self, *args, **options) -> None:
        if not (settings.DEBUG or options["scratch"]):
            raise CommandError("generate_volume writes made-up records: run it with DEBUG on, on a scratch database.")
        only = {s.strip() for s in options["only"].split(",") if s.strip()} or None
        known = {s.label for s in PLAN}
        if only and only - known:
            raise CommandError(f"unknown labels: {', '.join(sorted(only - known))}")
        scales: dict[str, float] = {}
        for item in options["scale_of"]:
            label, _eq, value = item.partition("=")
            if label not in known:
                raise CommandError(f"unknown label: {label}")
            try:
                scales[label] = float(value)
            except ValueError as exc:
                raise CommandError(f"not a number: {item}") from exc
        try:
            generator = Generator(scale=options["scale"], out=self.stdout.write, only=only, scales=scales)
            if options["documents"]:
                generator.documents()
            else:
                generator.run()
        except VolumeError as exc:
            raise CommandError(str(exc)) from exc
