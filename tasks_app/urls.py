from __future__ import annotations

from django.urls import path

from tasks_app import views
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
    path("tags", views.TagListView.as_view(), name="tag-list"),
    path("filters", views.SavedFilterListCreateView.as_view(), name="filter-list"),
    path("filters/<str:filter_id>", views.SavedFilterDetailView.as_view(), name="filter-detail"),
    path("filters/<str:filter_id>/tasks", views.SavedFilterTasksView.as_view(), name="filter-tasks"),
]
