from __future__ import annotations

from django.urls import path

from notifications_app import views

urlpatterns = [
    path("notifications", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/unread-count", views.UnreadCountView.as_view(), name="notification-unread-count"),
    path("notifications/read-all", views.NotificationReadAllView.as_view(), name="notification-read-all"),
    path("notifications/preferences", views.PreferencesView.as_view(), name="notification-preferences"),
    path(
        "notifications/preferences/email/verification",
        views.ReminderEmailVerificationView.as_view(),
        name="notification-email-verification",
    ),
    path(
        "notifications/preferences/webhook/rotate-secret",
        views.WebhookRotateSecretView.as_view(),
        name="notification-webhook-rotate",
    ),
    path(
        "notifications/<str:notification_id>/read",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
]
