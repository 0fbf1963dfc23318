"""Shared test fixtures: the personas (alice owns tasks, bob is another user).

Tests run against real PostgreSQL and Redis (embedded unless DATABASE_URL /
REDIS_URL are set). Celery runs tasks eagerly in-process unless a test starts
a real worker; on-commit callbacks run only where a test asks for them
(``django_capture_on_commit_callbacks`` or ``transaction=True``).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from todo_project.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def _make_user(username: str, tz: str = "UTC"):
    from todo_project.accounts.models import Profile

    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=f"{username}-Secret-123"
    )
    Profile.objects.create(user=user, timezone=tz)
    return user


def _client_for(user) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def alice(db):
    return _make_user("alice", "Europe/Berlin")


@pytest.fixture
def bob(db):
    return _make_user("bob", "America/New_York")


@pytest.fixture
def alice_client(alice) -> APIClient:
    return _client_for(alice)


@pytest.fixture
def bob_client(bob) -> APIClient:
    return _client_for(bob)


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()
