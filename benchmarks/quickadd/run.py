"""Quick-add parse time per phrase over the test corpus (goal: p95 < 5 ms).

Run: .venv/bin/python benchmarks/quickadd/run.py [--rounds 50]

Pure CPU: no database or Redis is touched, but Django settings are loaded
because the error type lives next to DRF. Each phrase of the table-driven
test corpus is parsed ``rounds`` times; every single parse is timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks._common import setup_django  # noqa: E402

# Settings refuse to load without these; nothing connects to them here.
setup_django(
    DEBUG="true",
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    REDIS_URL="redis://127.0.0.1:6379/0",
)

from tasks_app.quickadd.parser import parse_quick_add  # noqa: E402
from tasks_app.tests.test_quickadd import ALL_CASES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()

    corpus = [(tz, now, text) for tz, now, text, *_ in ALL_CASES]
    for tz, now, text in corpus:  # warm up regex caches and zoneinfo
        parse_quick_add(text, now=now, tz=tz)

    samples: list[float] = []
    per_phrase: dict[str, float] = {}
    for _ in range(args.rounds):
        for tz, now, text in corpus:
            start = time.perf_counter()
            parse_quick_add(text, now=now, tz=tz)
            elapsed = (time.perf_counter() - start) * 1000
            samples.append(elapsed)
            per_phrase[text] = max(per_phrase.get(text, 0.0), elapsed)

    samples.sort()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(len(samples) * p))]

    slowest = sorted(per_phrase.items(), key=lambda kv: kv[1], reverse=True)[:3]
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"phrases: {len(corpus)}  rounds: {args.rounds}  parses: {len(samples)}")
    print(f"mean {statistics.fmean(samples):.3f} ms  p50 {pct(0.50):.3f} ms  p95 {pct(0.95):.3f} ms")
    print(f"p99 {pct(0.99):.3f} ms  max {samples[-1]:.3f} ms")
    print("slowest phrases (max): " + "; ".join(f"{t!r} {ms:.2f} ms" for t, ms in slowest))
    print("goal p95 < 5 ms: " + ("met" if pct(0.95) < 5 else "NOT met"))


if __name__ == "__main__":
    main()
