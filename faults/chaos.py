"""The chaos run: a bounded, realistic load while processes are SIGKILLed and restarted.

    .venv/bin/python -m faults.chaos                 # CI-sized: 120 s of chaos
    .venv/bin/python -m faults.chaos --seconds 600   # the long run (10 minutes)
    .venv/bin/python -m faults.chaos --json out.json # also write the report

One cluster of real processes (gunicorn web, uvicorn ws, Celery worker and
beat, the Kafka bridge) against PostgreSQL, Redis and a Kafka-protocol broker
owned by the run (faults/harness.py). For ``--seconds`` it drives API writes
(task creations over ``--users`` users, every other one with an
Idempotency-Key) and reminders coming due all through the run (in-app, e-mail
to a fake SendGrid, signed webhooks to a local receiver), while every
``--fault-every`` seconds (random in [0.5x, 1.5x]) it SIGKILLs one of worker,
beat, bridge or ws and restarts it; once, at a third of the run, Redis is
killed and restarted empty; once, at two thirds, PostgreSQL is crashed
(``pg_ctl -m immediate``) and restarted. Then it lets the system settle (a
bounded wait for the outbox, the reminders and the deliveries) and runs the
history checker (faults/checker.py) over:

- writes: every 201 has exactly one ``task.created`` event (and no event
  without its 201, except a request whose answer was lost in a crash);
- Kafka: per user and topic, every outbox event on the topic, first copies in
  sequence order (duplicates of one ``ce_id`` allowed and counted);
- reminders: one in-app notification per reminder; one webhook effect per
  reminder (distinct ``webhook-id``; repeated requests counted); one e-mail
  delivery id per reminder (repeated requests counted);
- audit: every event of the run's users has exactly one audit entry.

The process exits 1 when lost or duplicated effects are not 0 (or the
settling wait ran out), else 0. All traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from faults.checker import check
from faults.harness import Cluster, wait_until
from faults.kafka import read_all, topic_of
from faults.load import (
    Writer,
    email_deliveries,
    in_app_notifications,
    iso,
    register_webhook,
    verify_email,
    webhook_deliveries,
)

KILLABLE = ("worker", "beat", "bridge", "ws")


def _family(event_type: str) -> str:
    return topic_of(event_type)


class Reminders:
    """Creates tasks with reminders due a few seconds ahead, all through the run."""

    def __init__(self, users: list, lead: float = 6.0, interval: float = 1.0) -> None:
        self.users = users
        self.lead = lead
        # One reminder (three deliveries: in-app, e-mail, webhook) a second:
        # a load the 2-core machine keeps up with between faults.
        self.interval = interval
        self.created: dict[int, list[str]] = {}
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Reminders:
        self._thread.start()
        return self

    def _run(self) -> None:
        turn = 0
        while not self._stop.is_set():
            user = self.users[turn % len(self.users)]
            turn += 1
            due = datetime.now(UTC) + timedelta(seconds=self.lead)
            try:
                status, task, _ = user.client.call("POST", "/api/tasks", {"title": f"chaos due {turn}"})
                if status == 201:
                    status, reminder, _ = user.client.call(
                        "POST", f"/api/tasks/{task['id']}/reminders", {"remind_at": iso(due)}
                    )
                    if status == 201:
                        self.created.setdefault(user.id, []).append(reminder["id"])
                        self._stop.wait(self.interval)
                        continue
            except OSError:
                pass
            self.failures += 1  # refused during the PostgreSQL crash: not expected to fire
            self._stop.wait(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)


def run(*, seconds: float, users_count: int, fault_every: float, seed: int, settle: float) -> dict[str, Any]:
    from notifications_app.tests.servers import API_KEY, serve

    rng = random.Random(seed)
    report: dict[str, Any] = {"seconds": seconds, "users": users_count, "seed": seed}
    with serve("sendgrid") as sendgrid, serve("webhook") as receiver:
        cluster = Cluster(
            kafka=True, extra_env={"SENDGRID_API_KEY": API_KEY, "SENDGRID_API_HOST": sendgrid.url}
        )
        try:
            cluster.start_servers()
            cluster.start("web", "ws", "worker", "beat", "bridge")
            users = [cluster.new_user("chaos") for _ in range(users_count)]
            for user in users:
                register_webhook(user, receiver.url + "/hook")
                verify_email(cluster, user, sendgrid)  # reminder mail goes to verified addresses only
            writer = Writer(users).start(threads=2)
            reminders = Reminders(users).start()
            faults: list[dict[str, Any]] = []
            started = time.monotonic()
            redis_at, postgres_at = started + seconds / 3, started + 2 * seconds / 3
            redis_done = postgres_done = False
            next_fault = started + fault_every * rng.uniform(0.5, 1.5)
            while time.monotonic() - started < seconds:
                now = time.monotonic()
                if not redis_done and now >= redis_at:
                    redis_done = True
                    t0 = time.monotonic()
                    cluster.redis.kill()
                    time.sleep(3)  # the outage itself
                    cluster.redis.start()
                    faults.append(
                        {"at": round(t0 - started, 1), "fault": "redis restarted empty", "down_s": 3}
                    )
                elif not postgres_done and now >= postgres_at:
                    postgres_done = True
                    t0 = time.monotonic()
                    cluster.postgres.stop("immediate")
                    time.sleep(3)
                    cluster.postgres.start()
                    back = time.monotonic()
                    first_ok = _first_success_after(writer, back)
                    faults.append(
                        {"at": round(t0 - started, 1), "fault": "postgres crashed and restarted", "down_s": 3,
                         "first_2xx_write_after_restart_s": first_ok}
                    )  # fmt: skip
                elif now >= next_fault:
                    name = rng.choice(KILLABLE)
                    t0 = time.monotonic()
                    cluster.procs[name].kill()
                    time.sleep(rng.uniform(0.5, 2.0))
                    cluster.procs[name].start()
                    faults.append(
                        {"at": round(t0 - started, 1), "fault": f"SIGKILL {name}",
                         "back_s": round(time.monotonic() - t0, 1)}
                    )  # fmt: skip
                    next_fault = time.monotonic() + fault_every * rng.uniform(0.5, 1.5)
                time.sleep(0.2)
            reminders.stop()
            calls = writer.stop()
            report["faults"] = faults
            report["operations"] = {
                "api_calls": len(calls),
                "2xx": sum(c.ok for c in calls),
                "503": sum(c.status == 503 for c in calls),
                "other": sum(not c.ok and c.status != 503 for c in calls),
                "reminders_created": sum(map(len, reminders.created.values())),
                "reminder_creations_refused": reminders.failures,
            }
            settle_started = time.monotonic()
            settled = _settle(cluster, users, reminders.created, receiver, settle)
            report["settle_s"] = round(time.monotonic() - settle_started, 1)
            report["settled"] = settled
            report["checks"] = _checks(cluster, users, calls, reminders.created, sendgrid, receiver)
        finally:
            report["load_average"] = [round(x, 2) for x in os.getloadavg()]
            cluster.shutdown()
    return report


def _first_success_after(writer: Writer, moment: float) -> float | None:
    try:
        call = wait_until(
            lambda: next((c for c in list(writer.calls) if c.started >= moment and c.ok), None),
            timeout=30,
            interval=0.1,
        )
    except AssertionError:
        return None
    return round(call.started + call.seconds - moment, 2)


def _settle(
    cluster: Cluster, users: list, created: dict[int, list[str]], receiver: Any, timeout: float
) -> bool:
    ids = [u.id for u in users]
    want = {rid for rids in created.values() for rid in rids}

    def done() -> bool:
        pending = cluster.postgres.query(
            "SELECT count(*) FROM reminders_app_reminder WHERE owner_id = ANY(%s) AND status = 'pending'",
            [ids],
        )[0][0]
        undelivered = cluster.postgres.query(
            "SELECT count(*) FROM notifications_app_notification "
            "WHERE user_id = ANY(%s) AND channel IN ('email', 'webhook') AND status = 'pending'",
            [ids],
        )[0][0]
        hooked = {rid for rid, _ in webhook_deliveries(receiver)}
        return (
            pending == 0
            and undelivered == 0
            and cluster.outbox_undispatched() == 0
            and cluster.outbox_unpublished() == 0
            and want <= hooked
        )

    try:
        wait_until(done, timeout=timeout, interval=1)
        return True
    except AssertionError:
        return False


def _checks(cluster: Cluster, users: list, calls: list, created: dict, sendgrid: Any, receiver: Any) -> dict:
    ids = [u.id for u in users]
    out: dict[str, Any] = {}

    # Writes: 201 ⇔ task.created event.
    answered: dict[Any, Any] = {}
    for c in calls:
        if c.method == "POST" and c.status == 201:
            answered.setdefault(c.user_id, []).append(c.body["id"])
    events = cluster.postgres.query(
        "SELECT user_id, substr(subject, 7) FROM events_outboxevent "
        "WHERE type = 'task.created' AND user_id = ANY(%s) AND data->>'title' LIKE 'fault write %%'",
        [ids],
    )
    writes = check(answered, [(int(u), t) for u, t in events], ordered=False)
    out["writes"] = writes.summary()

    # Kafka: every event of the users on its topic, in order per user.
    rows = cluster.postgres.query(
        "SELECT user_id, type, id::text FROM events_outboxevent "
        "WHERE user_id = ANY(%s) ORDER BY user_id, seq",
        [ids],
    )
    expected: dict = {}
    for user_id, event_type, event_id in rows:
        expected.setdefault((_family(event_type), int(user_id)), []).append(event_id)
    wanted = {str(u) for u in ids}
    assert cluster.broker is not None  # started above
    records = sorted(
        read_all(cluster.broker.bootstrap, expected=len(rows)),
        key=lambda r: (r.topic, r.partition, r.offset),
    )
    kafka = check(expected, [((r.topic, int(r.key)), r.ce_id) for r in records if r.key in wanted])
    out["kafka"] = kafka.summary()
    types = {event_id: event_type for _, event_type, event_id in rows}
    lost_types: dict[str, int] = {}
    for user_report in kafka.users.values():
        for event_id in user_report.lost:
            lost_types[types.get(str(event_id), "?")] = lost_types.get(types.get(str(event_id), "?"), 0) + 1
    if lost_types:
        out["kafka_lost_types"] = lost_types

    # Reminders: in-app once; webhook effects once (distinct webhook-id), requests counted.
    out["in_app"] = check(created, in_app_notifications(cluster, ids), ordered=False).summary()
    owner = {rid: uid for uid, rids in created.items() for rid in rids}
    hooks = [(rid, msg) for rid, msg in webhook_deliveries(receiver) if rid in owner]
    distinct = {(rid, msg) for rid, msg in hooks}
    out["webhook_effects"] = check(
        created, [(owner[rid], rid) for rid, _ in distinct], ordered=False
    ).summary()
    out["webhook_requests_repeated"] = len(hooks) - len(distinct)
    emails = cluster.postgres.query(
        "SELECT user_id, 'msg_' || replace(id::text, '-', '') FROM notifications_app_notification "
        "WHERE user_id = ANY(%s) AND channel = 'email' AND reminder_id IS NOT NULL",
        [ids],
    )
    by_user: dict = {}
    for user_id, delivery_id in emails:
        by_user.setdefault(int(user_id), []).append(delivery_id)
    email_owner = {d: u for u, ds in by_user.items() for d in ds}
    sent = [d for _, d in email_deliveries(sendgrid) if d in email_owner]
    email = check(by_user, [(email_owner[d], d) for d in set(sent)], ordered=False)
    out["email_effects"] = email.summary()
    out["email_rows_per_reminder_ok"] = len(emails) == len(owner)
    out["email_requests_repeated"] = len(sent) - len(set(sent))

    # Audit: every event of the users exactly once.
    audit_rows = cluster.postgres.query(
        "SELECT e.user_id, e.id::text, count(a.id) FROM events_outboxevent e "
        "LEFT JOIN audit_app_auditlog a ON a.event_id = e.id WHERE e.user_id = ANY(%s) GROUP BY 1, 2",
        [ids],
    )
    audit_expected: dict = {}
    for user_id, event_id, _ in audit_rows:
        audit_expected.setdefault(int(user_id), []).append(event_id)
    audit_observed = [(int(u), e) for u, e, n in audit_rows for _ in range(n)]
    out["audit"] = check(audit_expected, audit_observed, ordered=False).summary()
    return out


def verdict(report: dict[str, Any]) -> bool:
    checks = report.get("checks", {})
    effects = ("writes", "kafka", "in_app", "webhook_effects", "email_effects", "audit")
    ok = report.get("settled", False) and checks.get("email_rows_per_reminder_ok", False)
    for name in effects:
        summary = checks.get(name, {})
        ok = ok and summary.get("lost", 1) == 0 and summary.get("out_of_order", 1) == 0
        # Kafka is at least once: duplicates of one ce_id are allowed and counted.
        if name != "kafka":
            ok = ok and summary.get("duplicated", 1) == 0
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="length of the chaos (default 120)")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=6.0, help="seconds between process kills (mean)")
    parser.add_argument("--settle", type=float, default=180, help="bound on the settling wait (s)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    report = run(
        seconds=args.seconds,
        users_count=args.users,
        fault_every=args.fault_every,
        seed=seed,
        settle=args.settle,
    )
    report["ok"] = verdict(report)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as out:
            out.write(text + "\n")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    sys.exit(main())
