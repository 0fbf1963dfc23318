from __future__ import annotations

from django.urls import path

from todo_project.sync.views import SyncCursorView, SyncView

urlpatterns = [
    path("sync", SyncView.as_view(), name="sync"),
    path("sync/cursor", SyncCursorView.as_view(), name="sync-cursor"),
]
