"""Schemathesis against the live schema, in-process over WSGI (issue 11).

Every operation ``/api/schema/`` lists (so endpoints added later are covered
without touching this file) is called with examples generated from its
schema, valid and invalid ones, authenticated as a test user, and every
response goes through all of Schemathesis's checks: no server error, status
codes, content types, headers and bodies as documented, invalid data
refused, valid data accepted. Deterministic (Hypothesis derandomised, a fixed
example count per operation); ``SCHEMATHESIS_EXAMPLES`` raises the count for
a longer run::

    SCHEMATHESIS_EXAMPLES=500 scripts/test.sh tests/test_schemathesis.py
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import CHECKS, load_all_checks

from todo_project.wsgi import application

# ~3 minutes for every operation: in the full run (and CI), not the fast subset.
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "10"))

load_all_checks()
# Every check but positive_data_acceptance ("a schema-valid request must get a
# 2xx"): an OpenAPI schema cannot say that "0" is no recurrence rule or time
# zone, that a host must resolve, or that snooze takes minutes *or* until,
# so those answers are documented 400s, not schema violations. Schema-
# violating requests accepted (negative_data_rejection) do fail the test.
ALL_CHECKS = [
    check for check in CHECKS.get_all() if callable(check) and check.__name__ != "positive_data_acceptance"
]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # A WSGI request ends with request_finished, whose handler closes the
    # database connection; the test's transaction lives on it (Django's test
    # client disconnects the handler the same way).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(django_user_model) -> str:
    from todo_project.accounts.models import Profile

    user, _ = django_user_model.objects.get_or_create(username="fuzz", defaults={"email": "fuzz@example.com"})
    Profile.objects.get_or_create(user=user, defaults={"timezone": "Europe/Berlin"})
    return str(RefreshToken.for_user(user).access_token)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, token):
    if case.headers and "Idempotency-Key" in case.headers:
        # A key names one request: derandomised generation would send the
        # same one for every case, which the API rightly answers with a 422.
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=ALL_CHECKS)
