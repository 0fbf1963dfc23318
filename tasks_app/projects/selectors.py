"""Project, section and subtask queries (docs/projects.md). Everything here reads."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count, QuerySet

from tasks_app.models import Project, Section, Task
from tasks_app.selectors import format_datetime
from todo_project.errors import NotFoundError
from todo_project.ids import uuid_or_404

PROJECT_FIELDS: tuple[str, ...] = (
    "id",
    "name",
    "color",
    "position",
    "parent_id",
    "is_inbox",
    "is_archived",
    "archived_at",
    "version",
    "created_at",
    "updated_at",
)
SECTION_FIELDS: tuple[str, ...] = (
    "id",
    "project_id",
    "name",
    "position",
    "version",
    "created_at",
    "updated_at",
)


def project_to_dict(project: Project) -> dict[str, Any]:
    """The one project representation (API responses, event snapshots, pushes)."""
    return {
        "id": str(project.pk),
        "name": project.name,
        "color": project.color,
        "position": project.position,
        "parent_id": str(project.parent_id) if project.parent_id else None,
        "is_inbox": project.is_inbox,
        "is_archived": project.is_archived,
        "archived_at": format_datetime(project.archived_at),
        "version": project.version,
        "created_at": format_datetime(project.created_at),
        "updated_at": format_datetime(project.updated_at),
    }


def section_to_dict(section: Section) -> dict[str, Any]:
    return {
        "id": str(section.pk),
        "project_id": str(section.project_id),
        "name": section.name,
        "position": section.position,
        "version": section.version,
        "created_at": format_datetime(section.created_at),
        "updated_at": format_datetime(section.updated_at),
    }


def project_list(*, user: User, archived: bool | None = False) -> QuerySet[Project]:
    """The caller's projects, Inbox first, then in manual order.

    A flat list; ``parent_id`` makes the tree."""
    qs = Project.objects.filter(owner_id=user.pk)
    if archived is not None:
        qs = qs.filter(is_archived=archived)
    return qs.order_by("-is_inbox", "position", "created_at", "id")


def project_get(*, user: User, project_id: Any) -> Project:
    """The caller's project; anybody else's (or a malformed id) is a 404."""
    project = Project.objects.filter(owner_id=user.pk, pk=uuid_or_404(project_id, what="Project")).first()
    if project is None:
        raise NotFoundError("Project not found.")
    return project


def user_inbox_id(*, user_id: int) -> uuid.UUID | None:
    return Project.objects.filter(owner_id=user_id, is_inbox=True).values_list("pk", flat=True).first()


_SUBTREE_SQL = """
    WITH RECURSIVE tree(id, depth) AS (
        SELECT id, 1 FROM tasks_app_project WHERE id = %s AND owner_id = %s
        UNION ALL
        SELECT p.id, tree.depth + 1 FROM tasks_app_project p JOIN tree ON p.parent_id = tree.id
        WHERE tree.depth < 10
    )
    SELECT id FROM tree ORDER BY depth, id
"""


def project_subtree_ids(*, user_id: int, root_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
    """The project and all its subprojects (empty when it is not the user's)."""
    with connection.cursor() as cursor:
        cursor.execute(_SUBTREE_SQL, [root_id, user_id])
        return tuple(row[0] for row in cursor.fetchall())


def project_depth(project: Project) -> int:
    """1 for a top-level project, 2 for its child, …"""
    depth, parent_id = 1, project.parent_id
    while parent_id is not None and depth <= 10:
        parent_id = Project.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        depth += 1
    return depth


def project_height(*, user_id: int, root_id: uuid.UUID) -> int:
    """Levels in the subtree under and including ``root_id`` (1 = no subprojects)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SUBTREE_SQL.replace("SELECT id FROM tree ORDER BY depth, id", "SELECT max(depth) FROM tree"),
            [root_id, user_id],
        )
        row = cursor.fetchone()
    return int(row[0] or 1)


def project_task_counts(*, user_id: int, project_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open tasks per project."""
    rows = (
        Task.objects.filter(
            owner_id=user_id, project_id__in=project_ids, is_completed=False, is_skipped=False
        )
        .values("project_id")
        .annotate(n=Count("*"))
    )
    return {row["project_id"]: row["n"] for row in rows}


def section_list(*, user: User, project: Project) -> QuerySet[Section]:
    return Section.objects.filter(owner_id=user.pk, project_id=project.pk).order_by(
        "position", "created_at", "id"
    )


def section_get(*, user: User, section_id: Any) -> Section:
    section = Section.objects.filter(owner_id=user.pk, pk=uuid_or_404(section_id, what="Section")).first()
    if section is None:
        raise NotFoundError("Section not found.")
    return section


_TASK_SUBTREE_SQL = """
    WITH RECURSIVE tree(id, depth) AS (
        SELECT id, 1 FROM tasks_app_task WHERE id = ANY(%s) AND owner_id = %s
        UNION ALL
        SELECT t.id, tree.depth + 1 FROM tasks_app_task t JOIN tree ON t.parent_id = tree.id
        WHERE tree.depth < 10
    )
    SELECT id, depth FROM tree
"""


def task_subtree(*, user_id: int, root_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each task under (and including) the roots, with its depth below its root (root = 1)."""
    with connection.cursor() as cursor:
        cursor.execute(_TASK_SUBTREE_SQL, [list(root_ids), user_id])
        out: dict[uuid.UUID, int] = {}
        for pk, depth in cursor.fetchall():
            out[pk] = max(out.get(pk, 0), depth)
        return out


def task_depth(*, task_id: uuid.UUID | None) -> int:
    """Levels above and including ``task_id`` (a top-level task is 1; none is 0)."""
    depth = 0
    while task_id is not None and depth <= 10:
        task_id = Task.objects.filter(pk=task_id).values_list("parent_id", flat=True).first()
        depth += 1
    return depth
