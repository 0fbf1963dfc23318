"""Races the database must settle, run with real transactions in two threads."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from rest_framework_simplejwt.tokens import RefreshToken

from todo_project.accounts import services
from todo_project.errors import DomainError

PASSWORD = "correct-Horse-battery-9"


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once, each in its own thread and connection; results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _advisory_lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_it_makes_a_second_registration_wait_for_the_first_to_commit_and_refuses_its_email():
    first_registered, release_first = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():  # held open: erin is written but not committed
                services.user_register(username="erin", email="shared@example.com", password=PASSWORD)
                first_registered.set()
                release_first.wait(timeout=30)
        finally:
            connection.close()

    def second() -> None:
        try:
            services.user_register(username="frank", email="SHARED@example.com", password=PASSWORD)
            outcome["second"] = "registered"
        except DomainError as exc:
            outcome["second"] = exc
        finally:
            connection.close()

    # given erin's registration is written but not yet committed
    first_thread = threading.Thread(target=first)
    first_thread.start()
    assert first_registered.wait(timeout=30)
    # when frank registers the same address (another case) meanwhile
    second_thread = threading.Thread(target=second)
    second_thread.start()
    # frank either finishes at once (nothing serialises the two) or waits on
    # erin's lock; let erin commit only after one of the two has happened
    for _ in range(3000):
        if not second_thread.is_alive() or _advisory_lock_waiters():
            break
        threading.Event().wait(0.01)
    release_first.set()
    first_thread.join(timeout=30)
    second_thread.join(timeout=30)

    # then frank is refused on the email field and the address has one owner
    assert isinstance(outcome["second"], DomainError), outcome
    assert outcome["second"].field == "email"
    assert get_user_model().objects.filter(email__iexact="shared@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_rotates_a_refresh_token_only_once_when_replayed_concurrently():
    user = get_user_model().objects.create_user("gina", "gina@example.com", PASSWORD)
    refresh = str(RefreshToken.for_user(user))

    results = _race(
        lambda: services.token_refresh(refresh=refresh),
        lambda: services.token_refresh(refresh=refresh),
    )

    assert sum(isinstance(r, dict) for r in results) == 1, results
    assert sum(isinstance(r, services.AuthenticationError) for r in results) == 1
