"""Reading what the bridge put on the topics, from the beginning, with static assignment."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import cast

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

# Where each event family goes (docs/events.md, "Topics"); a family not listed goes to audit-events.
FAMILY_TOPICS = {
    "task": "task-events",
    "project": "task-events",
    "section": "task-events",
    "reminder": "reminder-events",
    "notification": "notification-events",
    "user": "audit-events",
    "chat": "chat-events",
}


def topic_of(event_type: str) -> str:
    return FAMILY_TOPICS.get(event_type.split(".", 1)[0], "audit-events")


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    ce_id: str
    ce_type: str
    sequence: int


@dataclass(frozen=True)
class DeadLetter:
    ce_id: str
    ce_type: str
    error: str  # the ce_dlqerror extension: why it could not be published
    topic: str  # ce_dlqtopic: where it was meant to go


def read_dead_letters(bootstrap: str, *, timeout: float = 10) -> list[DeadLetter]:
    """Every record on the dead-letter topic, from offset 0 (until 2 s pass with nothing new)."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "faults-dlq", "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = metadata.topics["dlq-events"].partitions if "dlq-events" in metadata.topics else {}
        consumer.assign([TopicPartition("dlq-events", p, OFFSET_BEGINNING) for p in partitions])
        out: list[DeadLetter] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 2:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            quiet_since = time.monotonic()
            raw = cast("list[tuple[str, bytes]]", message.headers() or [])
            headers = {name: value.decode() for name, value in raw}
            out.append(
                DeadLetter(
                    headers.get("ce_id", ""),
                    headers.get("ce_type", ""),
                    headers.get("ce_dlqerror", ""),
                    headers.get("ce_dlqtopic", ""),
                )
            )
        return out
    finally:
        consumer.close()


def read_all(bootstrap: str, *, expected: int, timeout: float = 60) -> list[Record]:
    """Every record on every topic but the dead-letter one (all partitions, from offset 0).

    Polls until at least ``expected`` records arrived and then 2 s more pass
    with nothing new (duplicates sent behind them), or ``timeout``.
    """
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "faults-reader", "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        assignment = [
            TopicPartition(topic, partition, OFFSET_BEGINNING)
            for topic in metadata.topics
            if not topic.startswith("__") and topic != "dlq-events"
            for partition in metadata.topics[topic].partitions
        ]
        consumer.assign(assignment)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                if len(records) >= expected and time.monotonic() - quiet_since > 2:
                    break
                continue
            quiet_since = time.monotonic()
            raw_headers = cast("list[tuple[str, bytes]]", message.headers() or [])
            headers = {name: value.decode() for name, value in raw_headers}
            records.append(
                Record(
                    topic=message.topic() or "",
                    partition=message.partition() or 0,
                    offset=message.offset() or 0,
                    key=(message.key() or b"").decode(),
                    ce_id=headers.get("ce_id", ""),
                    ce_type=headers.get("ce_type", ""),
                    sequence=int(headers.get("ce_sequence", "0")),
                )
            )
        return records
    finally:
        consumer.close()
