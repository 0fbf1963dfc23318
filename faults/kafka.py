"""Reading what the bridge put on the topics, from the beginning, with static assignment."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

TOPICS = ["task-events", "reminder-events", "notification-events", "audit-events"]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    ce_id: str
    ce_type: str
    sequence: int


def read_all(
    bootstrap: str, *, expected: int, timeout: float = 60, topics: list[str] = TOPICS
) -> list[Record]:
    """Every record on ``topics`` (all partitions, from offset 0), in partition order.

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
            for topic in topics
            if topic in metadata.topics
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
            headers = {name: value.decode() for name, value in (message.headers() or [])}
            records.append(
                Record(
                    topic=message.topic(),
                    partition=message.partition(),
                    offset=message.offset(),
                    key=(message.key() or b"").decode(),
                    ce_id=headers.get("ce_id", ""),
                    ce_type=headers.get("ce_type", ""),
                    sequence=int(headers.get("ce_sequence", "0")),
                )
            )
        return records
    finally:
        consumer.close()
