"""Helpers the benchmark scripts share (run as ``python benchmarks/<name>/run.py``,
which puts the repository root on ``sys.path`` first)."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_gunicorn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """gunicorn as deployed (deploy/gunicorn.conf.py; WEB_BIND, WEB_WORKERS from ``env``), no access log."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "deploy/gunicorn.conf.py"),
            "--access-logfile",
            "/dev/null",
            "todo_project.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
    )


def wait_for_health(port: int, attempts: int = 100) -> None:
    """Until the server on ``port`` answers ``GET /health`` with 200 (``attempts`` × ~0.2 s)."""
    for _ in range(attempts):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)


def machine(db_url: str, load_before: tuple[float, float, float]) -> dict:
    """What a result file says about the run: load averages, CPUs, the PostgreSQL version."""
    return {
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "postgres": subprocess.run(
            ["psql", db_url, "-Atc", "SHOW server_version"], capture_output=True, text=True
        ).stdout.strip(),
    }


def setup_django(**defaults: str) -> None:
    """``django.setup()`` with the project's settings, for a script that uses the ORM
    in its own process; ``defaults`` are environment variables set unless already set."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    import django

    django.setup()
