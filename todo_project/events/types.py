"""Every event type, declared once.

``@handles``, the WebSocket push list and the Kafka bridge's topic map name
types through these constants, and ``@handles`` refuses a type that is not
here, so a typo fails when the handler module is imported. Each type has a
JSON Schema in ``schemas/<type>.json``; a test checks the two lists match.
Adding a type: a constant here, its schema file, a row in docs/events.md.
"""

from __future__ import annotations

from typing import Final

TASK_CREATED: Final = "task.created"
TASK_UPDATED: Final = "task.updated"
TASK_COMPLETED: Final = "task.completed"
TASK_DELETED: Final = "task.deleted"
TASK_REORDERED: Final = "task.reordered"
TASK_OCCURRENCE_GENERATED: Final = "task.occurrence.generated"
TASK_OCCURRENCE_SKIPPED: Final = "task.occurrence.skipped"

REMINDER_SCHEDULED: Final = "reminder.scheduled"
REMINDER_TRIGGERED: Final = "reminder.triggered"
REMINDER_CANCELLED: Final = "reminder.cancelled"
REMINDER_SNOOZED: Final = "reminder.snoozed"
REMINDER_DISMISSED: Final = "reminder.dismissed"

NOTIFICATION_CREATED: Final = "notification.created"
NOTIFICATION_SENT: Final = "notification.sent"
NOTIFICATION_FAILED: Final = "notification.failed"
PREFERENCES_UPDATED: Final = "preferences.updated"
PUSH_SUBSCRIPTION_CREATED: Final = "push_subscription.created"
PUSH_SUBSCRIPTION_DELETED: Final = "push_subscription.deleted"

USER_REGISTERED: Final = "user.registered"
USER_LOGIN: Final = "user.login"
USER_LOGOUT: Final = "user.logout"
USER_LOGIN_FAILED: Final = "user.login_failed"
USER_TOKEN_CREATED: Final = "user.token_created"
USER_TOKEN_REVOKED: Final = "user.token_revoked"

CHAT_MESSAGE_RECEIVED: Final = "chat.message.received"
CHAT_MESSAGE_CREATED: Final = "chat.message.created"
CHAT_TOOL_EXECUTED: Final = "chat.tool.executed"
CHAT_HISTORY_CLEARED: Final = "chat.history.cleared"

# Projects and sections (tasks_app.projects); other additions.
CALENDAR_FEED_DISABLED: Final = "calendar.feed.disabled"
CALENDAR_FEED_ROTATED: Final = "calendar.feed.rotated"
IMPORT_QUEUED: Final = "import.queued"
IMPORT_STARTED: Final = "import.started"
IMPORT_SUCCEEDED: Final = "import.succeeded"
IMPORT_FAILED: Final = "import.failed"
PROJECT_ARCHIVED: Final = "project.archived"
PROJECT_CREATED: Final = "project.created"
PROJECT_DELETED: Final = "project.deleted"
PROJECT_REORDERED: Final = "project.reordered"
PROJECT_UNARCHIVED: Final = "project.unarchived"
PROJECT_UPDATED: Final = "project.updated"
SECTION_CREATED: Final = "section.created"
SECTION_DELETED: Final = "section.deleted"
SECTION_REORDERED: Final = "section.reordered"
SECTION_UPDATED: Final = "section.updated"
TASK_MOVED: Final = "task.moved"
USER_DEACTIVATED: Final = "user.deactivated"
USER_DELETED: Final = "user.deleted"
USER_EMAIL_VERIFICATION_REQUESTED: Final = "user.email_verification_requested"
USER_EMAIL_VERIFIED: Final = "user.email_verified"
USER_PASSWORD_CHANGED: Final = "user.password_changed"
USER_PASSWORD_RESET_REQUESTED: Final = "user.password_reset_requested"
USER_REFRESH_TOKEN_REUSED: Final = "user.refresh_token_reused"

EVENT_TYPES: Final[frozenset[str]] = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)

# Task writes, as the handlers that follow a task's state subscribe to them.
TASK_WRITES: Final = (TASK_CREATED, TASK_UPDATED, TASK_COMPLETED, TASK_DELETED)
