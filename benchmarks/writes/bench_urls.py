"""The product's URLs plus the baseline writes, which exist only here.

The baseline is the honest floor of a transactional write with its event: in
one transaction, the task row and one outbox row, whose per-user ``seq``
comes from the same counter upsert the product uses (a gap-free per-user
sequence needs that row lock; a SEQUENCE would commit out of order). It
authenticates with the product's JWT class (a write: the user row is read), and answers the row as JSON.
No validation, throttle, idempotency, serializer, dispatch or middleware
beyond Django's own.
"""

from __future__ import annotations

import json
import uuid

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework.request import Request

from tasks_app.models import Task
from todo_project.accounts.authentication import JWTAuthentication
from todo_project.events.models import OutboxEvent
from todo_project.urls import urlpatterns as product_urlpatterns

_SEQ_SQL = """
    INSERT INTO events_usereventcounter (user_id, last_seq) VALUES (%s, 1)
    ON CONFLICT (user_id) DO UPDATE SET last_seq = events_usereventcounter.last_seq + 1
    RETURNING last_seq
"""


def _user(request: HttpRequest):  # type: ignore[no-untyped-def]
    authenticated = JWTAuthentication().authenticate(Request(request))
    return authenticated[0] if authenticated else None


def _outbox(user_id: int, type_: str, data: dict) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_SEQ_SQL, [user_id])
        (seq,) = cursor.fetchone()
    OutboxEvent.objects.create(
        id=uuid.uuid4(), user_id=user_id, seq=seq, type=type_, source="/bench", time=timezone.now(), data=data
    )


@csrf_exempt
def plain_create(request: HttpRequest) -> JsonResponse:
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    body = json.loads(request.body)
    with transaction.atomic():
        task = Task.objects.create(owner_id=user.pk, title=body["title"])
        _outbox(user.pk, "task.created", {"task_id": str(task.id), "title": task.title})
    return JsonResponse({"id": str(task.id), "title": task.title, "version": task.version}, status=201)


@csrf_exempt
def plain_update(request: HttpRequest, task_id: uuid.UUID) -> JsonResponse:
    user = _user(request)
    if user is None:
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    body = json.loads(request.body)
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task_id, owner_id=user.pk)
        task.title = body["title"]
        task.version += 1
        task.save(update_fields=["title", "version", "updated_at"])
        _outbox(user.pk, "task.updated", {"task_id": str(task.id), "title": task.title})
    return JsonResponse({"id": str(task.id), "title": task.title, "version": task.version})


urlpatterns = [
    path("bench/plain-create", plain_create),
    path("bench/plain-update/<uuid:task_id>", plain_update),
    *product_urlpatterns,
]
