"""The outbox in the admin: read-only, filterable, with a re-dispatch action for failures."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from todo_project.admin_site import ReadOnlyModelAdmin
from todo_project.events import services
from todo_project.events.models import OutboxEvent


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"
    _choices: dict[str, Q] = {
        "undispatched": Q(dispatched_at__isnull=True, dispatch_failed_at__isnull=True),
        "dispatched": Q(dispatched_at__isnull=False),
        "dispatch_failed": Q(dispatch_failed_at__isnull=False),
        "unpublished": Q(published_at__isnull=True),
        "published": Q(published_at__isnull=False, dead_lettered_at__isnull=True),
        "dead_lettered": Q(dead_lettered_at__isnull=False),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, key.replace("_", " ")) for key in self._choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
        condition = self._choices.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyModelAdmin):
    list_display = ["time", "type", "user_id", "seq", "subject", "dispatch_state", "publish_state"]
    list_filter = ["type", StatusFilter]
    search_fields = ["subject"]
    ordering = ["-time"]
    actions = ["redispatch_failed"]
    show_full_result_count = False  # a COUNT(*) over a big outbox on every page is wasted work

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OutboxEvent], search_term: str
    ) -> tuple[QuerySet[OutboxEvent], bool]:
        # The id is a UUID: match it exactly when the term is one (an icontains
        # over a cast UUID would scan the table), otherwise search subjects.
        term = search_term.strip()
        try:
            return queryset.filter(id=uuid.UUID(term)), False
        except ValueError:
            return super().get_search_results(request, queryset, search_term)

    @admin.display(description="dispatch")
    def dispatch_state(self, event: OutboxEvent) -> str:
        if event.dispatch_failed_at:
            return f"failed after {event.dispatch_attempts}"
        if event.dispatched_at:
            return "done"
        return f"pending ({event.dispatch_attempts} tries)" if event.dispatch_attempts else "pending"

    @admin.display(description="kafka")
    def publish_state(self, event: OutboxEvent) -> str:
        if event.dead_lettered_at:
            return "dead-lettered"
        if event.published_at:
            return "published"
        return f"unpublished ({event.publish_attempts} tries)" if event.publish_attempts else "unpublished"

    @admin.action(description="Re-dispatch selected events that failed dispatch")
    def redispatch_failed(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        count = services.events_redispatch(event_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} failed event(s) queued for dispatch again.", messages.SUCCESS)
