"""Helpers the benchmark scripts share (run as ``python benchmarks/<name>/run.py``,
which puts the repository root on ``sys.path`` first)."""

from __future__ import annotations

import http.client
import os
import subprocess
import time


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
