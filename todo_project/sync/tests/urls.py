"""A URLconf for the idempotency tests: the project's, plus one view that can be held open."""

from __future__ import annotations

import threading

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks_app.models import Task
from todo_project.accounts.authentication import request_user


class HeldOpen:
    """Lets a test keep a request inside its view while it sends another."""

    entered = threading.Event()
    release = threading.Event()


class HeldTaskCreateView(APIView):
    def post(self, request: Request) -> Response:
        HeldOpen.entered.set()
        HeldOpen.release.wait(timeout=30)
        task = Task.objects.create(owner=request_user(request), title=str(request.data["title"]))  # type: ignore[call-overload]  # a JSON object here
        return Response({"id": str(task.id)}, status=201)


class FailingView(APIView):
    def post(self, request: Request) -> Response:
        Task.objects.create(owner=request_user(request), title="never committed")
        return Response({"detail": "boom"}, status=503)


urlpatterns = [
    path("api/test/held-tasks", HeldTaskCreateView.as_view()),
    path("api/test/failing", FailingView.as_view()),
    path("", include("todo_project.urls")),
]
