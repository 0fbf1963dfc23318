from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from todo_project.accounts.tasks import expired_tokens_purge_task

pytestmark = pytest.mark.django_db


def test_it_purges_expired_refresh_tokens_and_keeps_live_ones(alice):
    lifetime = django_settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]
    with time_machine.travel(timezone.now() - lifetime - timedelta(hours=1)):
        old = RefreshToken.for_user(alice)
        old.blacklist()
    live = RefreshToken.for_user(alice)

    purged = expired_tokens_purge_task.delay().get()

    assert purged == 1
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == [live["jti"]]
    assert not BlacklistedToken.objects.exists()


def test_it_is_scheduled_daily_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["accounts-expired-tokens-purge"]

    assert entry["task"] == expired_tokens_purge_task.name
    assert entry["options"]["expires"] <= entry["schedule"].run_every.total_seconds()
