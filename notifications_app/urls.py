from __future__ import annotations

from django.urls import path

from notifications_app import views
from notifications_app.push import views as push_views

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
    path("notifications/push-key", push_views.PushKeyView.as_view(), name="notification-push-key"),
    path(
        "notifications/push-subscriptions",
        push_views.PushSubscriptionListView.as_view(),
        name="notification-push-subscriptions",
    ),
    path(
        "notifications/push-subscriptions/<str:subscription_id>",
        push_views.PushSubscriptionDetailView.as_view(),
        name="notification-push-subscription",
    ),
    path(
        "notifications/<str:notification_id>/read",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
]
