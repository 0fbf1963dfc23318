"""Run a Python module with this process's clock shifted: ``python -m faults.clock SECONDS -m celery …``.

The fault suite's way to let real worker and beat processes live through a
moment that is not now (a DST transition months away): ``time_machine``
moves ``time.time``, ``datetime.now`` and friends by ``SECONDS`` and lets the
clock tick on at real speed. Processes started with the same offset agree
with each other (beat's ``expires`` and the worker's check of it); PostgreSQL
and Redis keep the real time, which Taskbeat never compares with these
clocks for what is tested here (the scan passes its own ``now``).
"""

from __future__ import annotations

import runpy
import sys
import time

import time_machine


def main() -> None:
    offset = float(sys.argv[1])
    if sys.argv[2] != "-m":
        raise SystemExit("usage: python -m faults.clock SECONDS -m MODULE [ARGS…]")
    module = sys.argv[3]
    time_machine.travel(time.time() + offset, tick=True).start()
    sys.argv = [module, *sys.argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
