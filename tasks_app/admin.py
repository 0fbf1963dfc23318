"""Admin for tasks and saved filters.

Task changes made here go through the same services as the API, so they bump
``version`` and record their events (audit, WebSocket pushes, reminders all
see them); the form validates with the services' rules first.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from tasks_app import services, validation
from tasks_app.models import ImportJob, Project, SavedFilter, Section, Task, TaskSeries
from tasks_app.recurrence.services import series_stop
from todo_project.admin_site import ReadOnlyModelAdmin
from todo_project.errors import DomainError


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ("owner", *validation.WRITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        checks = {
            "title": lambda: validation.normalize_title(data.get("title") or ""),
            "tags": lambda: validation.normalize_tags(list(data.get("tags") or [])),
            "recurrence_rule": lambda: validation.validate_recurrence_rule(data.get("recurrence_rule") or ""),
        }
        for field, check in checks.items():
            try:
                check()
            except DomainError as exc:
                self.add_error(field if field in self.fields else None, exc.message)
        return data


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
    list_display = (
        "title",
        "owner",
        "project",
        "priority",
        "is_completed",
        "due_at",
        "due_date",
        "is_recurring",
        "version",
        "updated_at",
    )
    list_filter = ("is_completed", "priority", "is_recurring", ("due_at", admin.DateFieldListFilter))
    search_fields = ("title", "description", "owner__username", "owner__email", "=id")
    list_select_related = ("owner", "project")
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
    ordering = ("-updated_at",)
    readonly_fields = ("id", "tag_keys", "version", "completed_at", "position", "created_at", "updated_at")
    show_full_result_count = False  # COUNT(*) over a million rows on every page view is not free

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> tuple[str, ...]:
        # Moving a task to another user is not a task edit; and series links are
        # maintained by the recurrence services.
        extra = ("owner",) if obj is not None else ()
        return (*self.readonly_fields, "series", "occurrence_at", "is_skipped", *extra)

    def save_model(self, request: HttpRequest, obj: Task, form: forms.ModelForm, change: bool) -> None:
        values = {
            name: form.cleaned_data[name] for name in validation.WRITABLE_FIELDS if name in form.cleaned_data
        }
        if not change:
            created = services.task_create(owner=form.cleaned_data["owner"], **values)
            obj.pk = created.pk
            return
        changed = {name: value for name, value in values.items() if name in form.changed_data}
        if changed:
            services.task_update(user=obj.owner, task_id=obj.pk, values=changed)

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        services.task_delete(user=obj.owner, task_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset.select_related("owner").order_by("pk"):
            services.task_delete(user=task.owner, task_id=task.pk)


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "params", "updated_at")
    search_fields = ("name", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(TaskSeries)
class TaskSeriesAdmin(admin.ModelAdmin):
    """Read-only: series change through the recurrence services (events, occurrences)."""

    list_display = ("title", "owner", "rule", "timezone", "completion_mode", "status", "created_at")
    list_filter = ("status", "completion_mode", "all_day")
    search_fields = ("title", "rule", "owner__username", "owner__email")
    list_select_related = ("owner",)
    ordering = ("-created_at",)
    actions = ("stop_series",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Stop the selected series (no new occurrences)")
    def stop_series(self, request: HttpRequest, queryset: QuerySet[TaskSeries]) -> None:
        for series in queryset.select_related("owner"):
            series_stop(user=series.owner, series_id=series.pk)
        self.message_user(request, f"Stopped {queryset.count()} series.")


@admin.register(Project)
class ProjectAdmin(ReadOnlyModelAdmin):
    """Projects, read-only here except archiving: every change goes through the
    project services so it records its event (audit, pushes, Kafka)."""

    list_display = ("name", "owner", "is_inbox", "parent", "position", "is_archived", "updated_at")
    list_filter = ("is_inbox", "is_archived")
    search_fields = ("name", "owner__username", "owner__email", "=id")
    list_select_related = ("owner", "parent")
    actions = ("archive_projects", "unarchive_projects")

    @admin.action(description="Archive (with subprojects)", permissions=["view"])
    def archive_projects(self, request: HttpRequest, queryset: QuerySet) -> None:
        from tasks_app.projects import services as project_services

        for project in queryset.exclude(is_inbox=True):
            project_services.project_archive(user=project.owner, project_id=project.pk)

    @admin.action(description="Unarchive", permissions=["view"])
    def unarchive_projects(self, request: HttpRequest, queryset: QuerySet) -> None:
        from tasks_app.projects import services as project_services

        for project in queryset:
            project_services.project_unarchive(user=project.owner, project_id=project.pk)


@admin.register(Section)
class SectionAdmin(ReadOnlyModelAdmin):
    """Sections, read-only (changes go through the API's services)."""

    list_display = ("name", "project", "owner", "position", "updated_at")
    search_fields = ("name", "project__name", "owner__username", "=id")
    list_select_related = ("owner", "project")


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyModelAdmin):
    """Import jobs, read-only: a worker and the sweep move them (docs/portability.md)."""

    list_display = ("id", "owner", "kind", "status", "done", "total", "attempt", "created_at", "finished_at")
    list_filter = ("status", "kind")
    search_fields = ("owner__username", "owner__email", "=id")
    list_select_related = ("owner",)
    exclude = ("payload",)
    readonly_fields = (
        "owner",
        "kind",
        "status",
        "options",
        "size_bytes",
        "done",
        "total",
        "problems",
        "result",
        "error_code",
        "error_message",
        "attempt",
        "lease_until",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
