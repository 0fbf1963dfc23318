"""The chaos run, CI-sized (faults/chaos.py; the long run is ``--seconds 600``)."""

from __future__ import annotations

import json
import os

import pytest

from faults.chaos import run, verdict

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.kafka]


def test_a_minute_of_chaos_loses_nothing_and_doubles_nothing():
    seconds = float(os.environ.get("FAULTS_CHAOS_SECONDS", "60"))
    report = run(seconds=seconds, users_count=6, fault_every=6.0, seed=18, settle=180)
    print(json.dumps(report, indent=1))
    assert verdict(report), json.dumps(report.get("checks"), indent=1)
    assert len(report["faults"]) >= 4
