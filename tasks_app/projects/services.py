"""Project and section writes (docs/projects.md). Each function is one transaction.

Every change records its event (``project.created`` / ``project.updated`` /
``project.archived`` / ``project.unarchived`` / ``project.reordered`` /
``project.deleted``, ``section.*``) in the outbox in the same transaction.

Lock order, the same as every other writer's (tasks_app/tests/test_lock_order.py):
task rows in pk order, then project/section rows, then the user's event
counter (taken by ``record_event``). Writers that insert a row pointing at a
project or section take a ``FOR KEY SHARE`` lock on it *before* the counter
(``lock_placement``), so a concurrent delete, which locks the row
``FOR UPDATE`` after the tasks and before the counter, cannot deadlock them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeVar

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from tasks_app.events import task_deleted_event
from tasks_app.models import (
    DEFAULT_PROJECT_COLOR,
    MAX_PROJECT_DEPTH,
    MAX_PROJECT_NAME_LENGTH,
    MAX_SECTION_NAME_LENGTH,
    Project,
    Section,
    Task,
)
from tasks_app.projects.selectors import (
    project_depth,
    project_height,
    project_subtree_ids,
    project_to_dict,
    section_to_dict,
)
from todo_project.errors import ConflictError, DomainError, NotFoundError
from todo_project.events.services import NewEvent, record_event, record_events, user_events_lock
from todo_project.ids import uuid_or_404

INBOX_NAME = "Inbox"
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_REORDER = 1000
DeleteMode = Literal["refuse", "delete", "move"]
DELETE_MODES: tuple[str, ...] = ("refuse", "delete", "move")


# --- validation ---------------------------------------------------------------------


def _clean_name(value: Any, *, limit: int, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError("Name is required.", field=field)
    name = value.strip()
    if len(name) > limit:
        raise DomainError(f"Name must be at most {limit} characters.", field=field)
    return name


def _clean_color(value: Any) -> str:
    if not isinstance(value, str) or not _COLOR_RE.match(value.strip()):
        raise DomainError("color must be a hex colour such as #db4035.", field="color")
    return value.strip().lower()


def _parse_uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise DomainError(f"{field} must be a UUID.", field=field) from None


def _lock_project(*, user_id: int, project_id: Any, for_delete: bool = False) -> Project:
    pk = uuid_or_404(project_id, what="Project")
    # NO KEY UPDATE for edits: it does not wait for (or block) rows being
    # inserted that point at this project.
    qs = Project.objects.select_for_update(no_key=not for_delete).filter(pk=pk, owner_id=user_id)
    project = qs.first()
    if project is None:
        raise NotFoundError("Project not found.")
    return project


def lock_placement(*, user_id: int, project_id: uuid.UUID | None, section_id: uuid.UUID | None) -> None:
    """``FOR KEY SHARE`` on the project and section a row is about to point at.

    Raises 400 naming the field when either is not the user's (a placement
    target in a request body is input, not the resource of the URL).
    """
    with connection.cursor() as cursor:
        if project_id is not None:
            cursor.execute(
                "SELECT is_archived FROM tasks_app_project WHERE id = %s AND owner_id = %s FOR KEY SHARE",
                [project_id, user_id],
            )
            row = cursor.fetchone()
            if row is None:
                raise DomainError("No such project of yours.", field="project_id")
            if row[0]:
                raise DomainError("The project is archived; unarchive it first.", field="project_id")
        if section_id is not None:
            cursor.execute(
                "SELECT project_id FROM tasks_app_section WHERE id = %s AND owner_id = %s FOR KEY SHARE",
                [section_id, user_id],
            )
            row = cursor.fetchone()
            if row is None:
                raise DomainError("No such section of yours.", field="section_id")
            if project_id is not None and row[0] != project_id:
                raise DomainError("The section belongs to another project.", field="section_id")


def _next_project_position(user_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(position) FROM tasks_app_project WHERE owner_id = %s", [user_id])
        last = cursor.fetchone()[0]
    return 0 if last is None else last + 1


def _project_event(type_: str, project: Project, **extra: Any) -> NewEvent:
    return NewEvent(
        type=type_,
        user_id=project.owner_id,
        subject=f"projects/{project.pk}",
        data={
            "project_id": str(project.pk),
            "user_id": project.owner_id,
            **extra,
            "version": project.version,
            "project": project_to_dict(project),
        },
    )


# --- the Inbox ---------------------------------------------------------------------


def inbox_ensure(*, user_id: int) -> uuid.UUID:
    """The user's Inbox id, created on first use.

    The Inbox is part of the account, like its profile: it exists, from a
    client's point of view, from the start (``GET /api/projects`` always lists
    it), so creating it records no event — as for the Inboxes migration 0005
    gave existing users. Runs in its own transaction (a savepoint inside the
    caller's): two first tasks of a new user created at once meet at the
    one-Inbox constraint, and the loser reads the winner's.
    """
    existing = Project.objects.filter(owner_id=user_id, is_inbox=True).values_list("pk", flat=True).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            project = Project.objects.create(
                owner_id=user_id, name=INBOX_NAME, color=DEFAULT_PROJECT_COLOR, position=0, is_inbox=True
            )
            return project.pk
    except IntegrityError:
        return Project.objects.get(owner_id=user_id, is_inbox=True).pk


_Row = TypeVar("_Row", Project, Section)

# --- projects ------------------------------------------------------------------------


def _check_parent(*, user_id: int, parent_id: Any, moving: Project | None = None) -> Project | None:
    if parent_id is None:
        return None
    pk = _parse_uuid(parent_id, "parent_id")
    parent = Project.objects.filter(pk=pk, owner_id=user_id).first()
    if parent is None:
        raise DomainError("No such project of yours.", field="parent_id")
    if parent.is_inbox:
        raise DomainError("The Inbox cannot have subprojects.", field="parent_id")
    if parent.is_archived:
        raise DomainError("The parent project is archived.", field="parent_id")
    height = 1
    if moving is not None:
        if pk in project_subtree_ids(user_id=user_id, root_id=moving.pk):
            raise DomainError("A project cannot be moved under itself or its subprojects.", field="parent_id")
        height = project_height(user_id=user_id, root_id=moving.pk)
    if project_depth(parent) + height > MAX_PROJECT_DEPTH:
        raise DomainError(f"Projects nest at most {MAX_PROJECT_DEPTH} levels deep.", field="parent_id")
    return parent


def project_create(*, owner: User, name: Any, color: Any = None, parent_id: Any = None) -> Project:
    """Create a project at the end of the owner's order; records ``project.created``."""
    clean_name = _clean_name(name, limit=MAX_PROJECT_NAME_LENGTH)
    clean_color = DEFAULT_PROJECT_COLOR if color is None else _clean_color(color)
    inbox_ensure(user_id=owner.pk)
    with transaction.atomic():
        parent = _check_parent(user_id=owner.pk, parent_id=parent_id)
        lock_placement(user_id=owner.pk, project_id=parent.pk if parent else None, section_id=None)
        user_events_lock(user_id=owner.pk)  # one "end" position per concurrent create
        project = Project.objects.create(
            owner_id=owner.pk,
            name=clean_name,
            color=clean_color,
            parent=parent,
            position=_next_project_position(owner.pk),
        )
        record_events([_project_event("project.created", project)])
    return project


PROJECT_WRITABLE = ("name", "color", "parent_id")


def project_update(*, user: User, project_id: Any, values: Mapping[str, Any]) -> Project:
    """Rename, recolour or move (``parent_id``) a project; records ``project.updated``
    with the changed fields. Nothing changed → no event."""
    unknown = set(values) - set(PROJECT_WRITABLE)
    if unknown:
        raise DomainError(f"Not writable: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    with transaction.atomic():
        project = _lock_project(user_id=user.pk, project_id=project_id)
        before = project_to_dict(project)
        fields: list[str] = []
        if "name" in values:
            name = _clean_name(values["name"], limit=MAX_PROJECT_NAME_LENGTH)
            if name != project.name:
                if project.is_inbox:
                    raise DomainError("The Inbox cannot be renamed.", field="name")
                project.name = name
                fields.append("name")
        if "color" in values:
            color = _clean_color(values["color"])
            if color != project.color:
                project.color = color
                fields.append("color")
        if "parent_id" in values:
            new_parent = values["parent_id"]
            new_pk = None if new_parent is None else _parse_uuid(new_parent, "parent_id")
            if new_pk != project.parent_id:
                if project.is_inbox:
                    raise DomainError("The Inbox cannot be nested.", field="parent_id")
                _check_parent(user_id=user.pk, parent_id=new_pk, moving=project)
                project.parent_id = new_pk
                fields.append("parent")
        if not fields:
            return project
        project.version += 1
        project.save(update_fields=[*fields, "version", "updated_at"])
        after = project_to_dict(project)
        changes = {
            key: {"old": before[key], "new": after[key]}
            for key in after
            if key not in ("version", "updated_at") and before[key] != after[key]
        }
        record_events([_project_event("project.updated", project, changes=changes)])
    return project


def _set_archived(*, user: User, project_id: Any, archived: bool) -> Project:
    with transaction.atomic():
        project = _lock_project(user_id=user.pk, project_id=project_id)
        if project.is_inbox:
            raise DomainError("The Inbox cannot be archived.", field="project_id")
        if archived:
            # Archiving takes the subprojects along; unarchiving brings them back
            # and any archived ancestors too, so the project is visible again.
            ids = list(project_subtree_ids(user_id=user.pk, root_id=project.pk))
        else:
            ids = list(project_subtree_ids(user_id=user.pk, root_id=project.pk))
            parent_id = project.parent_id
            while parent_id is not None:
                ids.append(parent_id)
                parent_id = Project.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
        rows = list(
            Project.objects.select_for_update(no_key=True)
            .filter(owner_id=user.pk, pk__in=ids, is_archived=not archived)
            .order_by("pk")
        )
        if not rows:
            return project
        now = timezone.now()
        for row in rows:
            row.is_archived = archived
            row.archived_at = now if archived else None
            row.version += 1
            row.updated_at = now
        Project.objects.bulk_update(rows, ["is_archived", "archived_at", "version", "updated_at"])
        changed = {row.pk: row for row in rows}
        project = changed.get(project.pk, project)
        record_events(
            [
                _project_event(
                    "project.archived" if archived else "project.unarchived",
                    project,
                    project_ids=[str(row.pk) for row in rows],
                )
            ]
        )
    return project


def project_archive(*, user: User, project_id: Any) -> Project:
    """Archive a project and its subprojects (records one ``project.archived``).
    Their tasks stay, out of the everyday views; already archived → no event."""
    return _set_archived(user=user, project_id=project_id, archived=True)


def project_unarchive(*, user: User, project_id: Any) -> Project:
    """Unarchive a project, its subprojects and archived ancestors (one ``project.unarchived``)."""
    return _set_archived(user=user, project_id=project_id, archived=False)


def project_reorder(*, user: User, project_ids: Sequence[Any]) -> list[str]:
    """The listed projects swap among the positions they hold; records ``project.reordered``."""
    ids = _parse_id_list(project_ids, "project_ids")
    with transaction.atomic():
        rows = _lock_listed(
            Project.objects.filter(owner_id=user.pk), ids, field="project_ids", refusal="Not your projects"
        )
        _assign_slots(rows, ids)
        ordered = [str(pk) for pk in ids]
        record_event(
            type="project.reordered",
            user_id=user.pk,
            subject="projects",
            data={"user_id": user.pk, "project_ids": ordered},
        )
    return ordered


def _parse_id_list(values: Sequence[Any], field: str) -> list[uuid.UUID]:
    if not isinstance(values, list | tuple) or not values:
        raise DomainError(f"{field} must list at least one id.", field=field)
    if len(values) > MAX_REORDER:
        raise DomainError(f"{field} may list at most {MAX_REORDER} ids.", field=field)
    ids = [_parse_uuid(value, field) for value in values]
    if len(set(ids)) != len(ids):
        raise DomainError(f"{field} lists an id more than once.", field=field)
    return ids


def _lock_listed(queryset: QuerySet[_Row], ids: list[uuid.UUID], *, field: str, refusal: str) -> list[_Row]:
    """The listed rows of ``queryset``, locked (NO KEY) in pk order; 400 naming
    ``field`` and up to five ids when any is not there."""
    rows = list(queryset.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    if len(rows) != len(ids):
        found = {row.pk for row in rows}
        missing = [str(pk) for pk in ids if pk not in found]
        raise DomainError(f"{refusal}: {', '.join(missing[:5])}.", field=field)
    return rows


def _assign_slots(rows: list[Any], ids: list[uuid.UUID]) -> None:
    """Give the rows, in ``ids`` order, the positions they hold between them (distinct)."""
    slots = sorted(row.position for row in rows)
    if len(set(slots)) != len(slots):
        slots = list(range(slots[0], slots[0] + len(slots)))
    by_id = {row.pk: row for row in rows}
    changed = []
    now = timezone.now()
    for pk, slot in zip(ids, slots, strict=True):
        row = by_id[pk]
        if row.position != slot:
            row.position = slot
            row.version += 1
            row.updated_at = now
            changed.append(row)
    if changed:
        type(changed[0]).objects.bulk_update(changed, ["position", "version", "updated_at"])


def project_delete(
    *, user: User, project_id: Any, tasks: str = "refuse", move_to: Any = None
) -> dict[str, Any]:
    """Delete a project and its subprojects (and their sections).

    ``tasks`` says what happens to the tasks in them: ``refuse`` (default) →
    409 ``project_not_empty`` if there are any; ``delete`` → deleted with them
    (one ``task.deleted`` each); ``move`` → moved to ``move_to`` (one
    ``task.moved`` each, sections cleared). Records ``project.deleted``.
    Returns ``{"deleted_project_ids", "task_ids", "tasks"}``.
    """
    from tasks_app.services import move_tasks_locked

    if tasks not in DELETE_MODES:
        raise DomainError(f"tasks must be one of {', '.join(DELETE_MODES)}; got {tasks!r}.", field="tasks")
    target_pk = None
    if tasks == "move":
        if move_to is None or move_to == "":
            raise DomainError("move_to names the project the tasks move to.", field="move_to")
        target_pk = _parse_uuid(move_to, "move_to")
    elif move_to not in (None, ""):
        raise DomainError("move_to only goes with tasks=move.", field="move_to")
    root_pk = uuid_or_404(project_id, what="Project")
    with transaction.atomic():
        project = Project.objects.filter(pk=root_pk, owner_id=user.pk).first()
        if project is None:
            raise NotFoundError("Project not found.")
        if project.is_inbox:
            raise DomainError("The Inbox cannot be deleted.", field="project_id", code="inbox_undeletable")
        subtree = list(project_subtree_ids(user_id=user.pk, root_id=project.pk))
        if target_pk is not None and target_pk in subtree:
            raise DomainError(
                "move_to is the project being deleted (or one of its subprojects).", field="move_to"
            )
        # Tasks first, in pk order (the global lock order), then the projects.
        locked = list(
            Task.objects.select_for_update().filter(owner_id=user.pk, project_id__in=subtree).order_by("pk")
        )
        if locked and tasks == "refuse":
            raise ConflictError(
                f"The project has {len(locked)} task(s); delete or move them (tasks=delete or tasks=move).",
                field="tasks",
                code="project_not_empty",
            )
        if target_pk is not None:
            lock_placement(user_id=user.pk, project_id=target_pk, section_id=None)
        projects = list(
            Project.objects.select_for_update().filter(owner_id=user.pk, pk__in=subtree).order_by("pk")
        )
        # A task created in (or moved into) the project while we waited for its
        # lock committed before we got it; none can come in now (pointing a row
        # at a locked project needs a KEY SHARE lock it cannot get). Take those too.
        late = list(
            Task.objects.select_for_update()
            .filter(owner_id=user.pk, project_id__in=subtree)
            .exclude(pk__in=[task.pk for task in locked])
            .order_by("pk")
        )
        if late:
            if tasks == "refuse":
                raise ConflictError(
                    "Tasks were added to the project meanwhile; delete or move them (tasks=delete|move).",
                    field="tasks",
                    code="project_not_empty",
                )
            locked = sorted([*locked, *late], key=lambda task: task.pk)
        events: list[NewEvent] = []
        task_ids = [str(task.pk) for task in locked]
        if tasks == "move" and locked:
            events += move_tasks_locked(
                tasks=locked,
                project_id=target_pk,
                section_id=None,
                keep_parents_within={task.pk for task in locked},
            )
        elif tasks == "delete" and locked:
            events += [task_deleted_event(task) for task in locked]
            # Children before parents is not needed: parent_id cascades in the
            # same statement (Django collects them), all rows already locked.
            Task.objects.filter(pk__in=[task.pk for task in locked]).delete()
        Section.objects.filter(project_id__in=subtree).delete()
        # Deepest first: parent_id is RESTRICT.
        by_pk = {row.pk: row for row in projects}
        for pk in reversed(subtree):
            if pk in by_pk:
                Project.objects.filter(pk=pk).delete()
        events.append(
            NewEvent(
                type="project.deleted",
                user_id=user.pk,
                subject=f"projects/{project.pk}",
                data={
                    "project_id": str(project.pk),
                    "user_id": user.pk,
                    "project_ids": [str(pk) for pk in subtree],
                    "tasks": "none" if not locked else tasks,
                    "moved_to": str(target_pk) if target_pk and locked else None,
                    "task_ids": task_ids,
                    "version": project.version + 1,
                },
            )
        )
        record_events(events)
    return {"deleted_project_ids": [str(pk) for pk in subtree], "task_ids": task_ids, "tasks": tasks}


# --- sections ------------------------------------------------------------------------


def _section_event(type_: str, section: Section, **extra: Any) -> NewEvent:
    return NewEvent(
        type=type_,
        user_id=section.owner_id,
        subject=f"sections/{section.pk}",
        data={
            "section_id": str(section.pk),
            "project_id": str(section.project_id),
            "user_id": section.owner_id,
            **extra,
            "version": section.version,
            "section": section_to_dict(section),
        },
    )


def section_create(*, user: User, project_id: Any, name: Any) -> Section:
    """A section at the end of the project's sections; records ``section.created``."""
    clean = _clean_name(name, limit=MAX_SECTION_NAME_LENGTH)
    with transaction.atomic():
        project = Project.objects.filter(owner_id=user.pk, pk=uuid_or_404(project_id, what="Project")).first()
        if project is None:
            raise NotFoundError("Project not found.")
        lock_placement(user_id=user.pk, project_id=project.pk, section_id=None)
        user_events_lock(user_id=user.pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT max(position) FROM tasks_app_section WHERE project_id = %s", [project.pk])
            last = cursor.fetchone()[0]
        section = Section.objects.create(
            owner_id=user.pk, project=project, name=clean, position=0 if last is None else last + 1
        )
        record_events([_section_event("section.created", section)])
    return section


def _lock_section(*, user_id: int, section_id: Any, for_delete: bool = False) -> Section:
    pk = uuid_or_404(section_id, what="Section")
    section = Section.objects.select_for_update(no_key=not for_delete).filter(pk=pk, owner_id=user_id).first()
    if section is None:
        raise NotFoundError("Section not found.")
    return section


def section_update(*, user: User, section_id: Any, name: Any) -> Section:
    """Rename a section; records ``section.updated`` (unchanged → no event)."""
    clean = _clean_name(name, limit=MAX_SECTION_NAME_LENGTH)
    with transaction.atomic():
        section = _lock_section(user_id=user.pk, section_id=section_id)
        if section.name == clean:
            return section
        old = section.name
        section.name = clean
        section.version += 1
        section.save(update_fields=["name", "version", "updated_at"])
        record_events(
            [_section_event("section.updated", section, changes={"name": {"old": old, "new": clean}})]
        )
    return section


def section_delete(*, user: User, section_id: Any) -> list[str]:
    """Delete a section; its tasks stay in the project, under no section
    (one ``task.moved`` each), then ``section.deleted``. Returns the moved task ids."""
    from tasks_app.services import move_tasks_locked

    pk = uuid_or_404(section_id, what="Section")
    with transaction.atomic():
        section = Section.objects.filter(pk=pk, owner_id=user.pk).first()
        if section is None:
            raise NotFoundError("Section not found.")
        locked = list(Task.objects.select_for_update().filter(owner_id=user.pk, section_id=pk).order_by("pk"))
        section = _lock_section(user_id=user.pk, section_id=pk, for_delete=True)
        events = move_tasks_locked(
            tasks=locked,
            project_id=section.project_id,
            section_id=None,
            keep_parents_within={task.pk for task in locked},
        )
        version = section.version + 1
        section.delete()
        events.append(
            NewEvent(
                type="section.deleted",
                user_id=user.pk,
                subject=f"sections/{pk}",
                data={
                    "section_id": str(pk),
                    "project_id": str(section.project_id),
                    "user_id": user.pk,
                    "version": version,
                },
            )
        )
        record_events(events)
    return [str(task.pk) for task in locked]


def section_reorder(*, user: User, project_id: Any, section_ids: Sequence[Any]) -> list[str]:
    """Sections of one project swap among their positions; records ``section.reordered``."""
    ids = _parse_id_list(section_ids, "section_ids")
    with transaction.atomic():
        project = Project.objects.filter(owner_id=user.pk, pk=uuid_or_404(project_id, what="Project")).first()
        if project is None:
            raise NotFoundError("Project not found.")
        rows = _lock_listed(
            Section.objects.filter(owner_id=user.pk, project_id=project.pk),
            ids,
            field="section_ids",
            refusal="Not sections of this project",
        )
        _assign_slots(rows, ids)
        ordered = [str(pk) for pk in ids]
        record_event(
            type="section.reordered",
            user_id=user.pk,
            subject=f"projects/{project.pk}",
            data={"user_id": user.pk, "project_id": str(project.pk), "section_ids": ordered},
        )
    return ordered
