from __future__ import annotations

import pytest


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (event dispatch → handlers) of the block, as production does."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run
