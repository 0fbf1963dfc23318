from __future__ import annotations

import pytest

from todo_project.accounts.tests.helpers import clear_throttle_counters


@pytest.fixture(autouse=True)
def _fresh_throttles() -> None:
    clear_throttle_counters()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2 at production strength costs ~0.3 s per hash; these tests test
    # our flows, not the hasher. Autouse, so it applies before the personas.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
