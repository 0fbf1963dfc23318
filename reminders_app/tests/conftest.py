from __future__ import annotations

import pytest
import time_machine

from reminders_app.tests.factories import NOW


@pytest.fixture
def frozen_now():
    """Time stands still at ``NOW`` for the test."""
    with time_machine.travel(NOW, tick=False):
        yield NOW
