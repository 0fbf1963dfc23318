"""The product's settings plus the baseline URLs (benchmarks/writes/bench_urls.py)."""

from __future__ import annotations

from todo_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
