from __future__ import annotations

from django.urls import path

from tasks_app import views
from tasks_app.agenda import views as agenda_views
from tasks_app.calendar import views as calendar_views
from tasks_app.portability import views as portability_views
from tasks_app.projects import views as project_views
from tasks_app.recurrence import views as recurrence_views

# Ids are matched as plain strings and parsed by the selectors, so a malformed
# id answers the API's JSON 404 rather than the URL resolver's HTML one.
urlpatterns = [
    # Recurrence and quick add (tasks_app/recurrence/views.py) first, so that
    # "tasks/parse" is not taken for a task id.
    *recurrence_views.urlpatterns,
    path("tasks", views.TaskListCreateView.as_view(), name="task-list"),
    path("tasks/reorder", views.TaskReorderView.as_view(), name="task-reorder"),
    path("tasks/<str:task_id>", views.TaskDetailView.as_view(), name="task-detail"),
    path("tasks/<str:task_id>/toggle", views.TaskToggleView.as_view(), name="task-toggle"),
    path("tasks/<str:task_id>/move", project_views.TaskMoveView.as_view(), name="task-move"),
    # Projects and sections (tasks_app/projects/, docs/projects.md).
    path("projects", project_views.ProjectListCreateView.as_view(), name="project-list"),
    path("projects/reorder", project_views.ProjectReorderView.as_view(), name="project-reorder"),
    path("projects/<str:project_id>", project_views.ProjectDetailView.as_view(), name="project-detail"),
    path(
        "projects/<str:project_id>/archive",
        project_views.ProjectArchiveView.as_view(),
        name="project-archive",
    ),
    path(
        "projects/<str:project_id>/unarchive",
        project_views.ProjectUnarchiveView.as_view(),
        name="project-unarchive",
    ),
    path(
        "projects/<str:project_id>/sections",
        project_views.SectionListCreateView.as_view(),
        name="project-sections",
    ),
    path(
        "projects/<str:project_id>/sections/reorder",
        project_views.SectionReorderView.as_view(),
        name="section-reorder",
    ),
    # The iCalendar feed (tasks_app/calendar/).
    path("calendar/feed", calendar_views.CalendarFeedView.as_view(), name="calendar-feed"),
    path(
        "calendar/feed/<str:token>.ics",
        calendar_views.CalendarFeedIcsView.as_view(),
        name="calendar-feed-ics",
    ),
    # Export and import (tasks_app/portability/).
    path("export", portability_views.ExportView.as_view(), name="export"),
    path("export/tasks.csv", portability_views.TasksCsvExportView.as_view(), name="export-tasks-csv"),
    path("import/todoist", portability_views.TodoistImportView.as_view(), name="import-todoist"),
    path("import/taskbeat", portability_views.TaskbeatImportView.as_view(), name="import-taskbeat"),
    path("import/jobs/<str:job_id>", portability_views.ImportJobView.as_view(), name="import-job"),
    # The everyday views (tasks_app/agenda/).
    path("views/today", agenda_views.TodayView.as_view(), name="view-today"),
    path("views/upcoming", agenda_views.UpcomingView.as_view(), name="view-upcoming"),
    path("views/overdue", agenda_views.OverdueView.as_view(), name="view-overdue"),
    path("views/inbox", agenda_views.InboxView.as_view(), name="view-inbox"),
    path("views/counts", agenda_views.CountsView.as_view(), name="view-counts"),
    path("sections/<str:section_id>", project_views.SectionDetailView.as_view(), name="section-detail"),
    path("tags", views.TagListView.as_view(), name="tag-list"),
    path("filters", views.SavedFilterListCreateView.as_view(), name="filter-list"),
    path("filters/<str:filter_id>", views.SavedFilterDetailView.as_view(), name="filter-detail"),
    path("filters/<str:filter_id>/tasks", views.SavedFilterTasksView.as_view(), name="filter-tasks"),
]
