"""WebSocket URL routes: the task sync socket, under both names the docs use."""

from __future__ import annotations

from django.urls import path, re_path

from todo_project.sync.consumers import TaskSyncConsumer

websocket_urlpatterns: list = [
    re_path(r"^ws/tasks/?$", TaskSyncConsumer.as_asgi()),
    path("api/tasks/ws", TaskSyncConsumer.as_asgi()),
]
