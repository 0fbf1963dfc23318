"""What the worst rules we can construct cost to refuse (issue 11, finding 1).

Runs the recurrence engine's input check (``parse_rule``, what task create and
update, the series edit, the preview and quick add call) on rules built to be
as expensive as possible under the evaluation budget: BY* parts that never
meet, sets with the most dates per period, the longest lists allowed, ten
hopeless lines, nine valid lines (each paying the frequency probe) plus a
hopeless one. Prints, per rule, the median and worst of ``--repeat`` runs in
CPU time (the thread's own, what the budget bounds; on a shared machine wall
time mostly measures waiting for a core) and the median wall time, with the
load average. No database is touched (settings are loaded for the error
type only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
      .venv/bin/python benchmarks/recurrence/refusal.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks._common import setup_django  # noqa: E402

setup_django()

from tasks_app.recurrence import rules as recurrence  # noqa: E402
from todo_project.errors import DomainError  # noqa: E402


def _list(values: range) -> str:
    return ",".join(str(v) for v in list(values)[: recurrence.MAX_BY_VALUES])


ISSUE = "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1"
MONTHS = "1,2,3,4,5,6,7,8,9,10,11,12"
RULES: dict[str, str] = {
    "issue rule (5th Monday that is the 1st)": ISSUE,
    "ten copies of the issue rule": "\n".join([f"RRULE:{ISSUE}"] * 10),
    "nine valid dense lines + the issue rule": "\n".join(
        [f"RRULE:FREQ=DAILY;BYHOUR={h}" for h in range(9)] + [f"RRULE:{ISSUE}"]
    ),
    "YEARLY, 64 BYYEARDAY x 62 BYMONTHDAY x 12 BYMONTH, never": (
        f"FREQ=YEARLY;BYYEARDAY={_list(range(300, 366))};"
        f"BYMONTHDAY={_list(range(1, 32))},{_list(range(-31, 0))};BYMONTH=1,2,3,4,5,6,7,8,9"
    ),
    "YEARLY, BYSETPOS past a 14-date set, 64 positions": (
        f"FREQ=YEARLY;BYDAY=MO;BYMONTHDAY=1,2,3,4,5,6,7;BYMONTH={MONTHS};BYSETPOS={_list(range(15, 79))}"
    ),
    "YEARLY, 53 BYWEEKNO in BYMONTH=6 on the 1st that is a 5th Monday": (
        f"FREQ=YEARLY;BYWEEKNO={_list(range(1, 54))};BYMONTH=6;BYMONTHDAY=31"
    ),
    "MONTHLY, all numbered weekdays on Feb 30/31 (static refusal)": (
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30,31;BYDAY=1MO,2MO,3MO,4MO,5MO,-1MO,-2MO"
    ),
    "MONTHLY, first Mon/Tue of the week-one days, 3rd pick": (
        "FREQ=MONTHLY;BYDAY=MO,TU;BYMONTHDAY=1,2,3,4,5,6,7;BYSETPOS=3"
    ),
    "DAILY, Feb 29 that is a Monday (2044)": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "HOURLY, Feb 29 that is a Monday at 09": "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO;BYHOUR=9",
    "HOURLY, 24 hours, day 1 that is a 5th Monday": (
        f"FREQ=HOURLY;BYHOUR={_list(range(24))};BYMONTHDAY=1;BYDAY=MO;BYMONTH={MONTHS};BYYEARDAY=-1"
    ),
    "WEEKLY, INTERVAL=1000 in February (valid: the control)": "FREQ=WEEKLY;BYMONTH=2;BYDAY=MO;INTERVAL=1000",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    start = datetime(2026, 12, 4, 9, tzinfo=UTC)
    print(f"load average before: {os.getloadavg()}")
    print(f"{'rule':66} {'answer':9} {'CPU median':>10} {'CPU worst':>9} {'wall median':>11}  (ms)")
    worst_overall = 0.0
    for label, text in RULES.items():
        cpu: list[float] = []
        wall: list[float] = []
        answer = ""
        for _ in range(args.repeat):
            began, began_cpu = time.perf_counter(), time.thread_time()
            try:
                recurrence.parse_rule(text, dtstart=start, tz="Europe/Berlin")
                answer = "accepted"
            except DomainError as exc:
                answer = f"400 {exc.field}"
            cpu.append((time.thread_time() - began_cpu) * 1000)
            wall.append((time.perf_counter() - began) * 1000)
        if answer != "accepted":
            worst_overall = max(worst_overall, max(cpu))
        print(
            f"{label[:66]:66} {answer[:9]:9} {statistics.median(cpu):10.2f} {max(cpu):9.2f}"
            f" {statistics.median(wall):11.2f}"
        )
    print(f"worst refusal, CPU time: {worst_overall:.2f} ms (goal < 20 ms)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
