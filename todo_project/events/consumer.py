"""An example Kafka consumer of Taskbeat's CloudEvents (``manage.py consume_events``).

It shows the contract a downstream service relies on: every message is a
CloudEvent in binary content mode, parsed here with the official CloudEvents
SDK (v2 API, ``cloudevents.core.bindings.kafka``); delivery is at-least-once,
so the consumer is idempotent by ``source`` + ``id`` (a ``ConsumedEvent`` row
written in the same transaction as the event's effect); offsets are committed
only after a batch is handled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from django.conf import settings
from django.db import connection, transaction

from todo_project.events.bridge import kafka_client_config, topic_names

logger = logging.getLogger(__name__)

EventHandler = Callable[[BaseCloudEvent, str], None]


@dataclass(frozen=True)
class Received:
    topic: str
    event: BaseCloudEvent
    duplicate: bool


def _pairs(
    headers: Iterable[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None,
) -> Iterable[tuple[str, str | bytes | None]]:
    if headers is None:
        return []
    return headers.items() if isinstance(headers, dict) else headers


def _bytes(raw: str | bytes | None) -> bytes:
    if raw is None:
        return b""
    return raw.encode() if isinstance(raw, str) else raw


def to_kafka_message(
    headers: Iterable[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None,
    key: bytes | None,
    value: bytes | None,
) -> KafkaMessage:
    """confluent-kafka's message parts -> the SDK's transport-neutral KafkaMessage."""
    return KafkaMessage(
        headers={name: _bytes(raw) for name, raw in _pairs(headers)},
        key=key,
        value=value or b"",
    )


class EventConsumer:
    def __init__(
        self,
        *,
        name: str = "example",
        topics: list[str] | None = None,
        group_id: str | None = None,
        bootstrap_servers: str | None = None,
        handler: EventHandler | None = None,
        extra_config: dict[str, object] | None = None,
        static_assignment: bool = False,
    ) -> None:
        """``static_assignment`` reads every partition itself (no group rebalance,
        so it starts at once; offsets are still committed under the group id):
        right for a single replica. Without it the consumer joins its group and
        shares partitions with other replicas."""
        self.name = name
        names = topic_names()
        self.topics = [names.get(topic, topic) for topic in (topics or list(names))]
        self.handler = handler
        self._format = JSONFormat()
        self._consumer = Consumer(
            {
                **kafka_client_config(),
                "bootstrap.servers": bootstrap_servers or settings.KAFKA_BOOTSTRAP_SERVERS,
                "group.id": group_id or f"taskbeat-{name}",
                "auto.offset.reset": "earliest",
                # Commit after handling, never before: at-least-once.
                "enable.auto.commit": False,
                **(extra_config or {}),
            }
        )
        if static_assignment:
            self._assign_all()
        else:
            self._consumer.subscribe(self.topics)

    def _assign_all(self) -> None:
        metadata = self._consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(topic, partition)
            for topic in self.topics
            if topic in metadata.topics
            for partition in metadata.topics[topic].partitions
        ]
        committed = self._consumer.committed(partitions, timeout=10) if partitions else []
        self._consumer.assign(
            [
                TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                for tp in committed
            ]
        )

    def close(self) -> None:
        self._consumer.close()

    def poll(self, *, timeout: float = 1.0, max_messages: int = 500) -> list[Received]:
        """Handle what arrives within ``timeout``; returns every parsed event, duplicates flagged."""
        received: list[Received] = []
        messages = self._consumer.consume(max_messages, timeout)
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("kafka consumer error: %s", error)
                continue
            kafka_message = to_kafka_message(message.headers(), message.key(), message.value())
            event = from_binary(kafka_message, self._format)
            topic = message.topic() or ""
            duplicate = not self._handle(topic, event)
            received.append(Received(topic=topic, event=event, duplicate=duplicate))
        if messages:
            self._consumer.commit(asynchronous=False)
        return received

    def _handle(self, topic: str, event: BaseCloudEvent) -> bool:
        """Run the handler once per (source, id); False for a duplicate."""
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO events_consumedevent (consumer, source, event_id, type, topic, consumed_at)"
                    " VALUES (%s, %s, %s, %s, %s, now())"
                    " ON CONFLICT (consumer, source, event_id) DO NOTHING RETURNING id",
                    [self.name, event.get_source(), event.get_id(), event.get_type(), topic],
                )
                if cursor.fetchone() is None:
                    return False
            if self.handler is not None:
                self.handler(event, topic)
        return True
