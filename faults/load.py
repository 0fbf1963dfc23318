"""Load the fault tests drive: API writes and reads, reminders coming due, webhook receivers."""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faults.harness import Cluster, User, wait_until


@dataclass
class Call:
    user_id: int
    method: str
    path: str
    status: int
    seconds: float
    started: float
    body: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Writer:
    """API writes (task creations) and reads, round-robin over users, until ``stop()``."""

    users: list[User]
    reads: bool = True
    # Every other write carries an Idempotency-Key (the middleware's claim is a
    # database write of its own, before the view).
    idempotency: bool = True
    calls: list[Call] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, threads: int = 2) -> Writer:
        for index in range(threads):
            thread = threading.Thread(target=self._run, args=(index, threads), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, index: int, threads: int) -> None:
        turn = index
        while not self._stop.is_set():
            user = self.users[turn % len(self.users)]
            turn += threads
            headers = {"Idempotency-Key": str(uuid.uuid4())} if self.idempotency and turn % 2 else None
            self._call(user, "POST", "/api/tasks", {"title": f"fault write {turn}"}, headers)
            if self.reads:
                self._call(user, "GET", "/api/tasks?page_size=5", None)

    def _call(self, user: User, method: str, path: str, body: Any, headers: dict | None = None) -> None:
        started = time.monotonic()
        try:
            status, data, _ = user.client.call(method, path, body, timeout=30, headers=headers)
            error = ""
        except OSError as exc:  # the web process itself unreachable: recorded, not raised
            status, data, error = 0, None, repr(exc)
        self.calls.append(
            Call(user.id, method, path, status, time.monotonic() - started, started, data, error)
        )

    def stop(self) -> list[Call]:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)
        return self.calls

    def count(self) -> int:
        return len(self.calls)

    def created(self) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.status == 201]


def rate_per_second(calls: list[Call], start: float, end: float) -> float:
    """Successful writes per second among calls started in [start, end)."""
    done = [c for c in calls if c.method == "POST" and c.ok and start <= c.started < end]
    return len(done) / max(end - start, 1e-9)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def register_webhook(user: User, url: str) -> str:
    status, body, _ = user.client.call("PATCH", "/api/notifications/preferences", {"webhook_url": url})
    assert status == 200, (status, body)
    return body["webhook_secret"]


def reminders_due(
    cluster: Cluster, users: list[User], per_user: int, due_in: float | None = None
) -> dict[int, list[str]]:
    """Create ``per_user`` tasks with one reminder each, all due at one moment.

    The moment is ``due_in`` seconds from now (default: enough for creating
    them on a loaded machine, 5 s + 0.25 s per reminder); users are seeded in
    parallel threads. Returns the reminder ids per user (the expected history).
    """
    total = per_user * len(users)
    due = datetime.now(UTC) + timedelta(seconds=due_in if due_in is not None else 5 + 0.25 * total)
    expected: dict[int, list[str]] = {}
    errors: list[Any] = []

    def seed(user: User) -> None:
        ids = []
        for number in range(per_user):
            status, task, _ = user.client.call("POST", "/api/tasks", {"title": f"due {number}"})
            if status != 201:
                errors.append((status, task))
                return
            status, reminder, _ = user.client.call(
                "POST", f"/api/tasks/{task['id']}/reminders", {"remind_at": iso(due)}
            )
            if status != 201:
                errors.append((status, reminder))
                return
            ids.append(reminder["id"])
        expected[user.id] = ids

    threads = [threading.Thread(target=seed, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert not errors, errors[:3]
    return expected


def seconds_until_due(cluster: Cluster, user_ids: list[int]) -> float:
    """Seconds from now until the users' last reminder is due (by PostgreSQL's clock)."""
    return float(
        cluster.postgres.query(
            "SELECT extract(epoch FROM max(fire_at) - now()) FROM reminders_app_reminder "
            "WHERE owner_id = ANY(%s)",
            [user_ids],
        )[0][0]
    )


def fired_reminders(cluster: Cluster, user_ids: list[int]) -> dict[str, str]:
    rows = cluster.postgres.query(
        "SELECT id::text, status FROM reminders_app_reminder WHERE owner_id = ANY(%s)", [user_ids]
    )
    return dict(rows)


def in_app_notifications(cluster: Cluster, user_ids: list[int]) -> list[tuple[int, str]]:
    """(user id, reminder id) of every in-app reminder notification, in creation order."""
    return [
        (int(user_id), reminder_id)
        for user_id, reminder_id in cluster.postgres.query(
            "SELECT user_id, reminder_id::text FROM notifications_app_notification "
            "WHERE channel = 'in_app' AND reminder_id IS NOT NULL AND user_id = ANY(%s) "
            "ORDER BY created_at",
            [user_ids],
        )
    ]


def webhook_deliveries(receiver: Any) -> list[tuple[str, str]]:
    """(reminder id, webhook-id) of every request the receiver got, in arrival order."""
    return [
        (request.json()["reminder"]["id"], request.headers.get("webhook-id", ""))
        for request in list(receiver.requests)
    ]


def owners(expected: dict[int, list[str]]) -> dict[str, int]:
    return {item: user for user, items in expected.items() for item in items}


def email_deliveries(sendgrid: Any) -> list[tuple[str, str]]:
    """(recipient, taskbeat_delivery_id) of every accepted-shape request the fake SendGrid got."""
    out = []
    for request in list(sendgrid.requests):
        body = request.json()
        out.append(
            (
                body["personalizations"][0]["to"][0]["email"],
                body.get("custom_args", {}).get("taskbeat_delivery_id", ""),
            )
        )
    return out


def verify_email(cluster: Cluster, user: User, sendgrid: Any) -> None:
    """Verify the user's address with the token from the verification mail (reminder
    mail goes only to verified addresses), as a person clicking the link would."""
    address = f"{user.username}@example.com"

    def token() -> str | None:
        for request in list(sendgrid.requests):
            body = request.json()
            if body["personalizations"][0]["to"][0]["email"] != address:
                continue
            text = " ".join(part.get("value", "") for part in body.get("content", []))
            found = re.search(r"/verify-email#token=([A-Za-z0-9_\-.:~]+)", text)
            if found:
                return found.group(1)
        return None

    value = wait_until(token, timeout=60, what=f"the verification mail to {address}")
    status, body, _ = user.client.call("POST", "/api/auth/email/verify", {"token": value})
    assert status in (200, 204), (status, body)
