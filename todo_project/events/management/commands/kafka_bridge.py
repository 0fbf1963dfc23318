"""``manage.py kafka_bridge``: the bridge process (outbox -> Kafka). See docs/events.md."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from todo_project.events.bridge import Bridge
from todo_project.prometheus import start_metrics_server


class Command(BaseCommand):
    help = "Relay outbox events to Kafka as CloudEvents, in order per user. Runs until SIGTERM/SIGINT."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run one round and exit (for cron/debugging)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            self.stdout.write("Kafka bridge disabled: KAFKA_BOOTSTRAP_SERVERS is not set. Exiting.")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        start_metrics_server(settings.METRICS_PORT)
        bridge = Bridge()
        bridge.start()
        self.stdout.write(f"Kafka bridge relaying to {settings.KAFKA_BOOTSTRAP_SERVERS}")
        try:
            if options["once"]:
                result = bridge.run_once()
                self.stdout.write(f"published {result.published}, dead-lettered {result.dead_lettered}")
            else:
                bridge.run_forever(stop)
        finally:
            bridge.close()
