"""Named fault points: crash a process right after a named step (the fault suite, faults/).

``fault_point("notifications.after_provider_call")`` is a call to a function
that does nothing, unless the process was started with
``TASKBEAT_FAULT_POINT`` naming that point: then the process ends at once with
``os._exit(137)`` (what a SIGKILL looks like to its parent: no cleanup, no
atexit, no transaction commit, no Celery ack), right after the step.
``TASKBEAT_FAULT_POINT=name@N`` crashes at the N-th time the point is reached
(default 1). ``TASKBEAT_FAULT_SCOPE=group`` kills the process's whole process
group instead (SIGKILL): a Celery prefork child's death would otherwise just be
replaced by its parent, where the fault suite means "the worker died" (the
suite starts each process in a session of its own). ``TASKBEAT_FAULT_HOLD=name:seconds``
instead sleeps there (to hold a transaction open while others commit).

With neither variable set (production), ``fault_point`` is bound at import to
an empty function: no lookup, no branch, nothing to configure by mistake.

Points (grep for ``fault_point(`` to see where):

| name | right after |
|---|---|
| ``events.after_lease`` | a dispatch leased its events, before any handler ran |
| ``events.after_handlers`` | every handler of a batch ran, before the batch is marked dispatched |
| ``events.before_commit`` | an event was recorded, before its transaction commits |
| ``notifications.after_claim`` | a delivery was claimed (lease taken), before the provider call |
| ``notifications.after_provider_call`` | the provider accepted, before the outcome is recorded |
| ``bridge.after_produce`` | Kafka acknowledged a round, before its rows are marked published |
| ``reminders.after_fire`` | the reminder scan fired its batch, before it commits |
| ``imports.after_progress`` | an import job wrote its progress, its one transaction still open |
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


def _noop(name: str) -> None:
    return None


def _make_fault_point(crash: str, hold: str, scope: str):  # pragma: no cover - used by faults/
    crash_name, _, nth = crash.partition("@")
    crash_at = int(nth or "1")
    hold_name, _, hold_seconds = hold.partition(":")
    seen = {"count": 0}
    lock = threading.Lock()

    def fault_point(name: str) -> None:
        if name == hold_name:
            time.sleep(float(hold_seconds or "5"))
        if name != crash_name:
            return
        with lock:
            seen["count"] += 1
            hit = seen["count"] == crash_at
        if hit:
            sys.stderr.write(f"fault point {name!r} reached: exiting with 137 ({scope or 'process'})\n")
            sys.stderr.flush()
            if scope == "group":
                os.killpg(os.getpgrp(), signal.SIGKILL)
            os._exit(137)

    return fault_point


_CRASH = os.environ.get("TASKBEAT_FAULT_POINT", "")
_HOLD = os.environ.get("TASKBEAT_FAULT_HOLD", "")
_SCOPE = os.environ.get("TASKBEAT_FAULT_SCOPE", "")
fault_point = _make_fault_point(_CRASH, _HOLD, _SCOPE) if (_CRASH or _HOLD) else _noop
