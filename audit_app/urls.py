from __future__ import annotations

from django.urls import path

from audit_app import views

urlpatterns = [
    path("audit", views.AuditListView.as_view(), name="audit-list"),
    path("audit/export", views.AuditExportView.as_view(), name="audit-export"),
]
