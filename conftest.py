"""Shared test fixtures: the personas (alice owns tasks, bob is another user).

Tests run against real PostgreSQL and Redis (embedded unless DATABASE_URL /
REDIS_URL are set). Celery runs tasks eagerly in-process unless a test starts
a real worker; on-commit callbacks run only where a test asks for them
(``django_capture_on_commit_callbacks`` or ``transaction=True``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from todo_project.celery import app as celery_app
from todo_project.testing import Broker, bearer_client, clear_throttle_counters


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _joins_allowed() -> None:
    # An eager task runs under celery's denied_join_result(), which sets a
    # process-wide flag and restores it on exit: two threads running eager
    # tasks at once (run_in_threads) can leave it set, and a later test's
    # ``task.delay().get()`` then fails with "Never call result.get() within a task".
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True, scope="session")
def _cheap_transactional_flush() -> Iterator[None]:
    """After a ``transaction=True`` test, delete its rows instead of Django's flush
    (``todo_project.testing.delete_test_rows``: about a second less per test)."""
    from django.db import connections
    from django.test import TestCase, TransactionTestCase

    from todo_project.testing import delete_test_rows, flush_and_snapshot, has_snapshot

    # Private methods of Django's the stubs do not declare: handled as Any.
    transaction_case: Any = TransactionTestCase
    original_setup = transaction_case.__dict__["_fixture_setup"]  # a classmethod
    original_teardown = transaction_case._fixture_teardown

    def plain(cls: Any) -> bool:
        # What Django's flush would do in full: other modes keep their own path.
        other_mode = cls.available_apps or cls.serialized_rollback or cls.reset_sequences
        return not (issubclass(cls, TestCase) or other_mode)

    def fixture_setup(cls: Any) -> None:
        if plain(cls):
            for name in cls._databases_names(include_mirrors=False):
                if not has_snapshot(connections[name]):
                    flush_and_snapshot(connections[name])
        original_setup.__func__(cls)

    def fixture_teardown(case: Any) -> None:
        if not plain(type(case)):
            original_teardown(case)
            return
        for name in case._databases_names(include_mirrors=False):
            if not delete_test_rows(connections[name]):
                flush_and_snapshot(connections[name])

    transaction_case._fixture_setup = classmethod(fixture_setup)
    transaction_case._fixture_teardown = fixture_teardown
    yield
    transaction_case._fixture_setup = original_setup
    transaction_case._fixture_teardown = original_teardown


@pytest.fixture(autouse=True, scope="session")
def _static_files_listed_once() -> Iterator[None]:
    """WhiteNoise lists every app's static files (WHITENOISE_USE_FINDERS, as in
    development) each time a test client builds its middleware: some 170 files
    stat-ed and given headers, a tenth of a typical API test's CPU. They do not
    change during a run, so list them once per configuration."""
    from django.conf import settings
    from whitenoise.middleware import WhiteNoiseMiddleware  # type: ignore[import-untyped]

    original = WhiteNoiseMiddleware.add_files_from_finders
    listed: dict[tuple[object, ...], dict[str, object]] = {}

    def add_files_from_finders(self: WhiteNoiseMiddleware) -> None:
        key = (
            self.static_prefix,
            self.max_age,
            self.charset,
            self.allow_all_origins,
            self.index_file,
            self.add_headers_function,
            getattr(settings, "WHITENOISE_IMMUTABLE_FILE_TEST", None),  # a fresh lambda on self
            tuple(settings.INSTALLED_APPS),
            tuple(map(str, getattr(settings, "STATICFILES_DIRS", ()))),
        )
        if key not in listed:
            before = dict(self.files)
            original(self)
            listed[key] = {url: f for url, f in self.files.items() if before.get(url) is not f}
        self.files.update(listed[key])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders  # type: ignore[method-assign]
    yield
    WhiteNoiseMiddleware.add_files_from_finders = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    # PBKDF2 at production strength costs ~0.3 s per hash (every persona is
    # one); these tests test our flows, not the hasher. override_settings, not
    # the ``settings`` fixture: a test's own ``settings`` changes must be
    # undone before the teardowns of the autouse fixtures that follow run.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    # Throttle buckets live in Redis and are keyed by user id, which every new
    # test database hands out again: without this a test inherits another's.
    clear_throttle_counters()


_DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"}


@pytest.fixture(autouse=True)
def _events_match_their_schemas(request: pytest.FixtureRequest):
    """After each test that uses the database, every outbox row must match its type's schema.

    Requesting the db fixture here (only when the test uses it anyway) makes
    this check run before the test's rollback or flush, so it sees the rows.
    """
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        _DB_FIXTURES & set(request.fixturenames)
    )
    if not uses_db:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from django.db import connection

    from todo_project.events.models import OutboxEvent
    from todo_project.events.validation import UnknownEventType, validate_event

    if connection.needs_rollback:  # the test broke its own transaction; nothing readable
        return
    problems = []
    for event in OutboxEvent.objects.order_by("user_id", "seq").iterator():
        try:
            validate_event(event)
        except (UnknownEventType, ValueError) as exc:
            problems.append(str(exc))
    if problems:
        pytest.fail("emitted events break their schemas:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _responses_match_the_openapi_schema(monkeypatch: pytest.MonkeyPatch):
    """Every response a test gets from the test client must match ``/api/schema/``.

    For the paths, methods and statuses the schema documents (see
    ``todo_project/testing_openapi.py``); a mismatch fails the test at the
    request that produced it.
    """
    import json

    from django.test import Client

    from todo_project.testing_openapi import response_errors

    original = Client.request

    def checked(self, **request):
        response = original(self, **request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") and not getattr(response, "streaming", False):
            body = json.loads(response.content) if response.content else None
            errors = response_errors(
                path=request.get("PATH_INFO", ""),
                method=request.get("REQUEST_METHOD", "GET").lower(),
                status=response.status_code,
                content_type=content_type,
                body=body,
            )
            if errors:
                pytest.fail(
                    f"{request.get('REQUEST_METHOD')} {request.get('PATH_INFO')} → {response.status_code} "
                    "does not match /api/schema/:\n" + "\n".join(errors),
                    pytrace=False,
                )
        return response

    monkeypatch.setattr(Client, "request", checked)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Broker]:
    """A Kafka-protocol broker (tansu) for the session, started on first use."""
    broker = Broker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """``with on_commit():`` runs the block's on-commit callbacks (event dispatch →
    handlers → deliveries) at its end, as a real commit does."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def _make_user(username: str, tz: str = "UTC"):
    from django.utils import timezone

    from todo_project.accounts.models import EmailVerification, Profile

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=f"{username}-Secret-123"
    )
    Profile.objects.create(user=user, timezone=tz)
    # The personas have verified their addresses (reminder mail goes only to
    # verified ones); tests of unverified addresses make their own users.
    EmailVerification.objects.create(user=user, email=user.email, verified_at=timezone.now())
    return user


def _client_for(user) -> APIClient:
    return bearer_client(str(RefreshToken.for_user(user).access_token))


@pytest.fixture
def alice(db):
    return _make_user("alice", "Europe/Berlin")


@pytest.fixture
def bob(db):
    return _make_user("bob", "America/New_York")


@pytest.fixture
def alice_client(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "root-Secret-123")


@pytest.fixture
def staff_client(client, superuser):
    """Django's test client logged in (a session, as the admin uses) as ``superuser``."""
    client.force_login(superuser)
    return client
