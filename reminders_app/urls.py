from __future__ import annotations

from django.urls import path

from reminders_app import views

# Ids are matched as strings and checked in the views, so a malformed id gets
# the API's JSON 404 rather than the resolver's HTML one.
urlpatterns = [
    path("reminders", views.ReminderListView.as_view(), name="reminder-list"),
    path("reminders/suggestions", views.ReminderSuggestionsView.as_view(), name="reminder-suggestions"),
    path("reminders/<str:reminder_id>", views.ReminderDetailView.as_view(), name="reminder-detail"),
    path("reminders/<str:reminder_id>/snooze", views.ReminderSnoozeView.as_view(), name="reminder-snooze"),
    path("reminders/<str:reminder_id>/dismiss", views.ReminderDismissView.as_view(), name="reminder-dismiss"),
    path("tasks/<str:task_id>/reminders", views.TaskReminderListView.as_view(), name="task-reminders"),
]
