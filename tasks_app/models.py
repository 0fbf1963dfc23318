"""Tasks (spec §8.1)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce, Lower

# Ids as the services take them: a UUID, or its text from a URL or a payload.
TaskId = uuid.UUID | str
SeriesId = uuid.UUID | str


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Sorting by priority means high > medium > low, not alphabetical.
PRIORITY_RANK = {Priority.LOW: 1, Priority.MEDIUM: 2, Priority.HIGH: 3}

MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_TITLE_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 5000

# Full-text search reads a stored column, ``search_vector``: PostgreSQL keeps it
# equal to to_tsvector('english', title || ' ' || description) (a generated
# column, so every write path — save, update(), bulk_create, COPY, raw SQL —
# keeps it in sync), and ranks matches on it. The filter is OwnerSearchMatch,
# served by task_fulltext_gin, a GIN index over the owner-scoped vector.
# Migration 0009 adds the column, its two functions and the index outside the
# model state, so model instances and ``.values()`` never load the vector.
SEARCH_VECTOR_COLUMN = "search_vector"
_SEARCH_VECTOR_TARGET = SearchVectorField()
_SEARCH_VECTOR_TARGET.set_attributes_from_name(SEARCH_VECTOR_COLUMN)


class SearchVectorColumn(models.Expression):
    """The task table's stored ``search_vector`` column, under the query's alias for it."""

    output_field = SearchVectorField()

    def resolve_expression(
        self,
        query: Any = None,
        allow_joins: bool = True,
        reuse: Any = None,
        summarize: bool = False,
        for_save: bool = False,
    ) -> Any:  # a Col, which is not a SearchVectorColumn
        assert query is not None, "resolved against a query"
        assert query.model is Task, "search_vector is a column of tasks_app_task"
        return Col(query.get_initial_alias(), _SEARCH_VECTOR_TARGET, output_field=SearchVectorField())

    def as_sql(self, compiler: Any, connection: Any) -> Any:  # pragma: no cover - resolved to a Col first
        raise TypeError("SearchVectorColumn must be resolved against a Task query")


class OwnerSearchMatch(models.Func):
    """``task_owner_vector(owner_id, search_vector) @@ task_owner_query(<owner>, <query>)``.

    Both sides carry the owner's id in every lexeme ('42_groceri'), so the GIN
    index task_fulltext_gin holds each user's words apart and a search reads
    the caller's entries only (not every user's matches, ANDed with the
    caller's tasks afterwards). True exactly when ``search_vector @@ query``.
    """

    template = "task_owner_vector(%(owner_col)s, %(vector)s) @@ task_owner_query(%%s::bigint, %(query)s)"
    output_field = models.BooleanField()

    def __init__(self, owner_id: int, query: Any) -> None:
        super().__init__(models.F("owner_id"), SearchVectorColumn(), query)
        # A plain parameter (not a Value, which Django would wrap as Int8), so
        # the list's compiled page finds and replaces it like the owner filter's.
        self.owner_id = owner_id

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> Any:
        compiled = [compiler.compile(expression) for expression in self.get_source_expressions()]
        (owner_col, owner_args), (vector, vector_args), (query, query_args) = compiled
        sql = self.template % {"owner_col": owner_col, "vector": vector, "query": query}
        return sql, [*owner_args, *vector_args, self.owner_id, *query_args]


# The list's secondary sort: high > medium > low (FR-PR-004). Shared by the
# list query and the due-sort index, which must spell it identically.
PRIORITY_RANK_EXPR = models.Case(
    models.When(priority=Priority.HIGH, then=models.Value(3)),
    models.When(priority=Priority.MEDIUM, then=models.Value(2)),
    default=models.Value(1),
    output_field=models.IntegerField(),
)


class DateAtUtcMidnight(models.Func):
    """A date as the instant 00:00 UTC that day.

    ``date::timestamptz`` would depend on the session's TimeZone (STABLE, so
    not indexable); a ``timestamp`` read ``AT TIME ZONE 'UTC'`` is IMMUTABLE.
    """

    template = "((%(expressions)s)::timestamp AT TIME ZONE 'UTC')"
    output_field = models.DateTimeField()


# sort_by=due_at: timed tasks by due_at, date-only ones at 00:00 UTC of their
# date. The list query and task_owner_due_sort_idx use this very expression.
DUE_SORT_EXPR = Coalesce("due_at", DateAtUtcMidnight("due_date"), output_field=models.DateTimeField())


MAX_PROJECT_NAME_LENGTH = 120
MAX_SECTION_NAME_LENGTH = 120
# Nesting limits (docs/projects.md): a project and two levels of subprojects;
# a task and three levels of subtasks.
MAX_PROJECT_DEPTH = 3
MAX_TASK_DEPTH = 4
DEFAULT_PROJECT_COLOR = "#808080"


class Project(models.Model):
    """A list of tasks (Todoist's project, Vikunja's list), optionally nested.

    Every user has exactly one ``is_inbox`` project, which new tasks land in
    when no project is named; it cannot be deleted, archived, renamed or nested.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects")
    name = models.CharField(max_length=MAX_PROJECT_NAME_LENGTH)
    color = models.CharField(max_length=7, default=DEFAULT_PROJECT_COLOR)
    position = models.IntegerField(default=0)
    # Deleting a parent is the service's business (it decides what happens to
    # the tasks); the database refuses to orphan a subproject silently.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.RESTRICT, related_name="children"
    )
    is_inbox = models.BooleanField(default=False, editable=False)
    is_archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [
            # One Inbox per user; the index also finds it.
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(is_inbox=True), name="project_one_inbox_per_owner"
            ),
            models.CheckConstraint(
                condition=models.Q(is_inbox=False) | models.Q(parent__isnull=True, is_archived=False),
                name="project_inbox_top_level_unarchived",
            ),
            models.CheckConstraint(
                condition=models.Q(is_archived=False) | models.Q(archived_at__isnull=False),
                name="project_archived_has_time",
            ),
        ]
        indexes = [models.Index(fields=["owner", "position"], name="project_owner_position_idx")]

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    """An ordered heading inside a project; a task may sit under one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sections")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sections")
    name = models.CharField(max_length=MAX_SECTION_NAME_LENGTH)
    position = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        indexes = [models.Index(fields=["project", "position"], name="section_project_position_idx")]

    def __str__(self) -> str:
        return self.name


# An open task: what the everyday views show (status=active in the list).
OPEN_TASK = models.Q(is_completed=False, is_skipped=False)


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: every index below starts with owner_id and serves
    # owner lookups (and the cascade). A bare owner_id index made the planner
    # count tag filters by scanning all of the owner's rows instead of using
    # task_owner_tag_keys_gin (33 ms vs 3 ms for 1,390 of 100,000 tasks).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    description = models.TextField(blank=True, default="")
    is_completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Legacy date-only due date: a date stays a date (FR-DD-002).
    due_date = models.DateField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    # A relative reminder: when set, remind_at is kept at due_at minus this many
    # minutes ("remind me 15 minutes before" follows the task when it moves).
    remind_offset_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_recurring = models.BooleanField(default=False)
    recurrence_rule = models.CharField(max_length=1000, blank=True, default="")
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    tags = models.JSONField(default=list, blank=True)
    # Lower-cased tags for case-insensitive matching; ``tags`` keeps the
    # original casing for display. Maintained by the services.
    tag_keys = models.JSONField(default=list, blank=True, editable=False)
    position = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    # Recurrence (issue 4): an occurrence of a series, at its scheduled time.
    series = models.ForeignKey(
        "TaskSeries", null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrences"
    )
    occurrence_at = models.DateTimeField(null=True, blank=True)
    is_skipped = models.BooleanField(default=False)
    # Projects and subtasks (docs/projects.md). ``project`` is null only for
    # rows written around the services (bulk loaders); those count as Inbox.
    # RESTRICT (not PROTECT, so deleting a user still cascades): deleting a
    # project that has tasks is the service's decision.
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.RESTRICT, related_name="tasks", db_index=False
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks", db_index=False
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__in=["low", "medium", "high"]), name="task_valid_priority"
            ),
            models.CheckConstraint(
                condition=models.Q(is_completed=False) | models.Q(completed_at__isnull=False),
                name="task_completed_has_time",
            ),
            # One row per (series, occurrence time): a repeated task.completed,
            # a retried handler or two concurrent completions create one next occurrence.
            models.UniqueConstraint(fields=["series", "occurrence_at"], name="task_series_occurrence_unique"),
        ]
        indexes = [
            models.Index(fields=["owner", "position"], name="task_owner_position_idx"),
            models.Index(fields=["owner", "created_at"], name="task_owner_created_idx"),
            models.Index(
                fields=["owner", "due_at"],
                name="task_owner_due_at_idx",
                condition=models.Q(due_at__isnull=False),
            ),
            models.Index(
                fields=["remind_at"], name="task_remind_at_idx", condition=models.Q(remind_at__isnull=False)
            ),
            models.Index(fields=["owner", "priority"], name="task_owner_priority_idx"),
            # The list's COUNT for status=active/completed: an index-only scan.
            models.Index(fields=["owner", "is_completed"], name="task_owner_completed_idx"),
            models.Index(fields=["owner"], name="task_recurring_idx", condition=models.Q(is_recurring=True)),
            # Tag filters (jsonb @> / ?| on the lower-cased tag_keys, always for
            # one owner) are served by an index that migration 0004 manages
            # outside the model state: task_owner_tag_keys_gin, a GIN index over
            # (owner_id, tag_keys), where PostgreSQL has the btree_gin
            # extension (every packaged server; not the embedded pgserver used
            # by scripts/test.sh), else the former task_tag_keys_gin on tag_keys.
            # Full-text search: task_fulltext_gin, a GIN index over
            # task_owner_vector(owner_id, search_vector), is managed by
            # migration 0009 outside the model state (OwnerSearchMatch).
            # sort_by=due_at (ascending, the default) in index order: the exact
            # ORDER BY of selectors.task_list, so the first page needs no sort.
            models.Index(
                models.F("owner"),
                DUE_SORT_EXPR.asc(nulls_last=True),
                PRIORITY_RANK_EXPR.desc(nulls_last=True),
                models.F("created_at").asc(),
                models.F("id").asc(),
                name="task_owner_due_sort_idx",
            ),
            # The everyday views (tasks_app/agenda/): open tasks of one owner in
            # due order (Today, Upcoming, Overdue are ranges of it) ...
            models.Index(
                models.F("owner"),
                DUE_SORT_EXPR.asc(nulls_last=True),
                PRIORITY_RANK_EXPR.desc(nulls_last=True),
                models.F("created_at").asc(),
                models.F("id").asc(),
                name="task_open_due_idx",
                condition=OPEN_TASK,
                # What the views' conditions and the sidebar's due counts read
                # besides the key: the counts are index-only scans.
                include=["due_at", "due_date", "project"],
            ),
            # ... and by project in manual order (the Inbox view, the sidebar's
            # per-project counts as an index-only scan).
            models.Index(
                fields=["owner", "project", "position"], name="task_open_project_idx", condition=OPEN_TASK
            ),
            # GET /api/tasks?project=… and the project views, in manual order.
            models.Index(fields=["owner", "project", "position"], name="task_owner_project_idx"),
            # A parent's children (subtree walks, FK checks); sections' tasks.
            models.Index(fields=["parent"], name="task_parent_idx", condition=models.Q(parent__isnull=False)),
            models.Index(
                fields=["section"], name="task_section_idx", condition=models.Q(section__isnull=False)
            ),
            # The repair scan's "does this series still have an open occurrence?".
            models.Index(
                fields=["series"],
                name="task_series_open_idx",
                condition=models.Q(series__isnull=False, is_completed=False, is_skipped=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title


# The stored column belongs to the task table (Django's count() and other
# query rewrites read a column's model).
_SEARCH_VECTOR_TARGET.model = Task


class SavedFilter(models.Model):
    """A named preset of task-list query parameters (FR-SF-009, "smart lists").

    ``params`` holds the normalised list parameters (strings, as in a query
    string) and is validated with the same parser as ``GET /api/tasks``.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=100)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # "Work" and "work" are the same list to a user; the index also
            # serves the owner's listing.
            models.UniqueConstraint("owner", Lower("name"), name="savedfilter_owner_name_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class CompletionMode(models.TextChoices):
    SCHEDULED = "scheduled", "After the scheduled time (every)"
    COMPLETION = "completion", "After the completion time (every!)"


class SeriesStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    STOPPED = "stopped", "Stopped"
    ENDED = "ended", "Ended"


MAX_LOOKAHEAD_DAYS = 366


class TaskSeries(models.Model):
    """A recurring task: an RFC 5545 rule set evaluated in the owner's time zone.

    Each occurrence is its own Task row (``Task.series``, ``Task.occurrence_at``);
    the fields below are the template the next occurrence is made from. See
    tasks_app/recurrence/rules.py for the rule engine and docs/recurrence.md.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_series")
    rule = models.CharField(max_length=1000)
    dtstart = models.DateTimeField()
    timezone = models.CharField(max_length=64)
    # True when occurrences carry a date only (due_date), not a time (due_at).
    all_day = models.BooleanField(default=False)
    completion_mode = models.CharField(
        max_length=20, choices=CompletionMode.choices, default=CompletionMode.SCHEDULED
    )
    # active: generates occurrences; stopped: by the user (existing occurrences
    # stay); ended: the rule ran out (COUNT/UNTIL reached).
    status = models.CharField(max_length=10, choices=SeriesStatus.choices, default=SeriesStatus.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    # 0 = generate the next occurrence on completion only; N > 0 = also keep
    # occurrences generated N days ahead (the repair scan fills them in).
    lookahead_days = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=MAX_TITLE_LENGTH)
    description = models.TextField(blank=True, default="")
    priority = models.CharField(max_length=20, choices=Priority.choices, default=Priority.MEDIUM)
    tags = models.JSONField(default=list, blank=True)
    # Minutes before the due time; 15 stays "15 minutes before" on every occurrence.
    reminder_offsets = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lookahead_days__lte=MAX_LOOKAHEAD_DAYS), name="series_lookahead_max"
            ),
            models.CheckConstraint(
                condition=models.Q(completion_mode__in=["scheduled", "completion"]),
                name="series_valid_completion_mode",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "stopped", "ended"]), name="series_valid_status"
            ),
        ]
        indexes = [
            # The hourly repair scan walks active series only.
            models.Index(fields=["id"], name="series_active_idx", condition=models.Q(status="active")),
            models.Index(fields=["owner", "created_at"], name="series_owner_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.rule})"


class CalendarFeed(models.Model):
    """A user's secret iCalendar feed URL (docs/portability.md).

    Only a SHA-256 of the token is stored: the URL is shown once, when it is
    made or rotated, like a webhook secret. Rotating replaces the token, so the
    old URL stops working at once.
    """

    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"calendar feed of user {self.owner_id}"


class ImportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportJobKind(models.TextChoices):
    TODOIST = "todoist", "Todoist CSV"
    TASKBEAT = "taskbeat", "Taskbeat export"


class ImportJob(models.Model):
    """A large import, run by a worker (docs/portability.md "Large imports").

    The row is the truth: a worker claims it (``queued`` → ``running``,
    ``attempt`` + 1, a lease until ``lease_until``), writes ``done`` and
    renews the lease from a connection of its own while the import's one
    transaction is open, and marks it ``succeeded`` inside that transaction,
    fenced by ``attempt`` (so a worker that lost its lease can never commit).
    The sweep re-queues a job whose lease ran out, or fails it after
    ``IMPORT_JOB_MAX_ATTEMPTS``. ``payload`` (the upload) is emptied once the
    job is finished.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=20, choices=ImportJobKind.choices)
    status = models.CharField(max_length=20, choices=ImportJobStatus.choices, default=ImportJobStatus.QUEUED)
    # The form fields of the upload: project_name (todoist), mode (taskbeat).
    options = models.JSONField(default=dict, blank=True)
    payload = models.BinaryField(default=b"", editable=False)
    size_bytes = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=50, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    attempt = models.PositiveIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "succeeded", "failed"]),
                name="import_job_valid_status",
            ),
        ]
        indexes = [
            # The sweep: unfinished jobs only.
            models.Index(
                fields=["status", "lease_until"],
                name="import_job_unfinished_idx",
                condition=models.Q(status__in=["queued", "running"]),
            ),
            models.Index(fields=["owner", "created_at"], name="import_job_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} import {self.id} ({self.status})"
