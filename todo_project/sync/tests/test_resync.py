"""Resync from PostgreSQL by seq: over the socket and as GET /api/sync."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from todo_project.events.models import OutboxEvent
from todo_project.events.services import record_event
from todo_project.sync.tests.conftest import TaskChanges, recv_json, subscribed


def _seqs(user) -> list[int]:
    return list(OutboxEvent.objects.filter(user_id=user.pk).order_by("seq").values_list("seq", flat=True))


def _age_events(user, *, up_to_seq: int, hours: int) -> None:
    """Make events look older than they are (as if retention had passed them)."""
    OutboxEvent.objects.filter(user_id=user.pk, seq__lte=up_to_seq).update(
        time=timezone.now() - timedelta(hours=hours)
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
class TestSocketResync:
    def test_it_sends_exactly_the_missed_events_in_seq_order(self, server, alice, bob):
        # given alice saw her first change, then missed three (and bob changed something)
        changes = TaskChanges()
        task = changes.create(alice, "seen")
        seen = _seqs(alice)[-1]
        changes.update(alice, task, "missed 1")
        changes.create(bob, "bob's")
        changes.update(alice, task, "missed 2")
        changes.complete(alice, task)
        ws = subscribed(server, alice)

        # when she resyncs from the last seq she applied
        ws.send(json.dumps({"type": "resync", "since": seen}))

        # then she gets exactly the three she missed, then a summary
        frames = [recv_json(ws) for _ in range(4)]
        assert [f["type"] for f in frames] == [
            "task.updated",
            "task.updated",
            "task.completed",
            "resync.complete",
        ]
        assert [f["seq"] for f in frames[:3]] == _seqs(alice)[1:]
        assert frames[0]["prev_seq"] == seen
        assert frames[1]["data"]["changes"]["title"]["new"] == "missed 2"
        assert frames[3] == {
            "type": "resync.complete",
            "since": seen,
            "next_since": _seqs(alice)[-1],
            "has_more": False,
            "last_seq": _seqs(alice)[-1],
            "count": 3,
        }
        ws.close()

    def test_it_says_resync_required_past_retention(self, server, alice):
        changes = TaskChanges()
        task = changes.create(alice)
        changes.update(alice, task, "later")
        first = _seqs(alice)[0]
        _age_events(alice, up_to_seq=first, hours=24 * 30)
        ws = subscribed(server, alice)

        ws.send(json.dumps({"type": "resync", "since": 0}))
        assert recv_json(ws) == {"type": "resync.required", "reason": "not_retained", "since": 0}
        # from a seq whose successors are all retained it still works
        ws.send(json.dumps({"type": "resync", "since": first}))
        assert recv_json(ws)["data"]["changes"]["title"]["new"] == "later"
        ws.close()


@pytest.mark.django_db
class TestSyncEndpoint:
    def test_it_pages_the_missed_events_by_seq(self, alice, alice_client):
        changes = TaskChanges(request_id="req-7")
        task = changes.create(alice)
        for n in range(4):
            changes.update(alice, task, f"title {n}")
        seqs = _seqs(alice)

        first = alice_client.get("/api/sync", {"since": 0, "limit": 3})
        assert first.status_code == 200
        body = first.json()
        assert [m["seq"] for m in body["results"]] == seqs[:3]
        assert body["has_more"] is True
        assert body["next_since"] == seqs[2]
        assert body["results"][0]["request_id"] == "req-7"
        assert body["results"][0]["type"] == "task.created"

        second = alice_client.get("/api/sync", {"since": body["next_since"], "limit": 3}).json()
        assert [m["seq"] for m in second["results"]] == seqs[3:]
        assert second["has_more"] is False
        assert second["next_since"] == second["last_seq"] == seqs[-1]

    def test_it_skips_events_that_are_not_pushed_but_advances_past_them(self, alice, alice_client):
        task = TaskChanges().create(alice)
        with transaction.atomic():
            record_event(type="user.logout", user_id=alice.pk, data={"user_id": alice.pk})
        body = alice_client.get("/api/sync", {"since": 0}).json()
        assert [m["data"]["task_id"] for m in body["results"]] == [str(task.id)]
        assert body["next_since"] == body["last_seq"] == _seqs(alice)[-1]

    def test_it_chains_prev_seq_per_channel_across_pages(self, alice, alice_client):
        from todo_project.sync.tests.conftest import notification_data

        changes = TaskChanges()
        task = changes.create(alice)
        with transaction.atomic():
            record_event(type="notification.created", user_id=alice.pk, data=notification_data(alice))
        changes.update(alice, task, "again")
        first_seq = _seqs(alice)[0]

        body = alice_client.get("/api/sync", {"since": first_seq}).json()

        assert [(m["channel"], m["prev_seq"]) for m in body["results"]] == [
            ("notifications", None),
            ("tasks", first_seq),
        ]

    def test_it_shows_nothing_of_other_users(self, alice, bob, bob_client):
        TaskChanges().create(alice)
        body = bob_client.get("/api/sync", {"since": 0}).json()
        assert body["results"] == []
        assert body["last_seq"] == 0

    def test_it_answers_410_when_events_were_purged(self, alice, alice_client):
        changes = TaskChanges()
        task = changes.create(alice)
        changes.update(alice, task, "kept")
        OutboxEvent.objects.filter(
            user_id=alice.pk, seq=_seqs(alice)[0]
        ).delete()  # as the retention purge does

        response = alice_client.get("/api/sync", {"since": 0})
        assert response.status_code == 410
        assert response.json()["error"]["code"] == "resync_required"
        assert "since" in response.json()["error"]["fields"]

    def test_it_answers_410_when_since_is_ahead_of_the_server(self, alice, alice_client):
        TaskChanges().create(alice)
        assert alice_client.get("/api/sync", {"since": 999}).status_code == 410

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({}, "since"),
            ({"since": "x"}, "since"),
            ({"since": -1}, "since"),
            ({"since": 0, "limit": 0}, "limit"),
        ],
    )
    def test_it_names_the_bad_parameter(self, alice_client, params, field):
        response = alice_client.get("/api/sync", params)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]

    def test_it_gives_the_cursor_to_continue_from_after_a_full_reload(self, alice, alice_client):
        changes = TaskChanges()
        task = changes.create(alice)
        changes.update(alice, task, "x")
        OutboxEvent.objects.filter(user_id=alice.pk, seq=_seqs(alice)[0]).delete()
        assert alice_client.get("/api/sync", {"since": 0}).status_code == 410

        cursor = alice_client.get("/api/sync/cursor").json()["last_seq"]

        assert cursor == _seqs(alice)[-1]
        assert alice_client.get("/api/sync", {"since": cursor}).json()["results"] == []

    def test_it_refuses_anonymous_callers(self, anon_client):
        assert anon_client.get("/api/sync", {"since": 0}).status_code == 401
