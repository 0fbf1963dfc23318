"""``manage.py consume_events``: an example consumer printing each CloudEvent once. See docs/events.md."""

from __future__ import annotations

import json
import signal
from datetime import datetime
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from django.conf import settings
from django.core.management.base import BaseCommand

from todo_project.events.consumer import EventConsumer


class Command(BaseCommand):
    help = "Read Taskbeat's Kafka topics, parse each message as a CloudEvent, print it once (JSON lines)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--name", default="example", help="Consumer name: idempotency scope and group id."
        )
        parser.add_argument(
            "--topic",
            action="append",
            dest="topics",
            help="Logical or real topic name (repeatable); default: every Taskbeat topic.",
        )
        parser.add_argument(
            "--assign",
            action="store_true",
            help="Read every partition without joining a consumer group rebalance (single replica).",
        )
        parser.add_argument("--max-idle", type=float, default=0, help="Exit after this many idle seconds.")
        parser.add_argument(
            "--group",
            help="Consumer group id (default taskbeat-<name>). A new group with the same --name "
            "replays every partition from the beginning; events already handled are skipped.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            self.stdout.write("Kafka is disabled: KAFKA_BOOTSTRAP_SERVERS is not set. Exiting.")
            return
        running = True

        def stop(*_: object) -> None:
            nonlocal running
            running = False

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        consumer = EventConsumer(
            name=options["name"],
            topics=options["topics"],
            handler=self._print,
            static_assignment=options["assign"],
            group_id=options["group"],
        )
        idle = 0.0
        read = duplicates = 0
        try:
            while running:
                received = consumer.poll(timeout=1.0)
                read += len(received)
                duplicates += sum(item.duplicate for item in received)
                idle = 0.0 if received else idle + 1.0
                if options["max_idle"] and idle >= options["max_idle"]:
                    break
        finally:
            consumer.close()
            self.stderr.write(f"read {read} events, skipped {duplicates} already handled")

    def _print(self, event: BaseCloudEvent, topic: str) -> None:
        line = {
            "topic": topic,
            "id": event.get_id(),
            "source": event.get_source(),
            "type": event.get_type(),
            "time": _iso(event.get_time()),
            "subject": event.get_subject(),
            "partitionkey": event.get_extension("partitionkey"),
            "sequence": event.get_extension("sequence"),
            "data": event.get_data(),
        }
        self.stdout.write(json.dumps(line, default=str))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
