"""What a notification says, one builder per channel.

The services decide who is notified, when and on which channel; these
functions only turn the facts into the text (in-app), the mail (email), the
JSON body (webhook) or what a browser's service worker shows (push). No
query and no write here, so a wording change never touches delivery. Links
are absolute (``PUBLIC_BASE_URL``): they leave the app.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from html import escape
from typing import Any, TypedDict

from django.conf import settings
from django.utils.dateparse import parse_datetime

PASSWORD_RESET_SUBJECT = "Reset your Taskbeat password"  # noqa: S105 - a mail subject, not a secret
EMAIL_VERIFICATION_SUBJECT = "Verify your e-mail address for Taskbeat"


class InAppMessage(TypedDict):
    title: str
    body: str


class EmailMessage(TypedDict):
    subject: str
    text: str
    html: str


class PushMessage(TypedDict):
    title: str
    body: str
    url: str
    tag: str  # the service worker's showNotification() tag: one per reminder


# The push message, JSON-encoded, before encryption. Push services take 4096
# bytes of encrypted body (RFC 8291 §4 adds 86 bytes of header, a 16-byte tag
# and a padding delimiter); staying well under leaves room and keeps a
# reminder a glance, not a document.
MAX_PUSH_BYTES = 3000


def task_url(task_id: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/tasks/{task_id}"


def due_text(data: Mapping[str, Any], tz: tzinfo) -> str:
    """ "due Mon 02 Mar 2026, 09:00 CET" from reminder.triggered data, in the user's zone."""
    due_at = parse_datetime(data["due_at"]) if data.get("due_at") else None
    return due_text_of(due_at, data.get("due_date") or None, tz)


def due_text_of(due_at: datetime | None, due_date: date | str | None, tz: tzinfo) -> str:
    """``due_text`` from the values themselves (a ``date`` or its ISO text)."""
    if due_at is not None:
        return "due " + due_at.astimezone(tz).strftime("%a %d %b %Y, %H:%M %Z")
    if due_date:
        return f"due {due_date.isoformat() if isinstance(due_date, date) else due_date}"
    return "no due date"


# --- reminders (from reminder.triggered) ------------------------------------


def reminder_in_app(*, title: str, due: str) -> InAppMessage:
    return {"title": f"Reminder: {title}", "body": f"{title} — {due}."}


def reminder_email(*, title: str, due: str, url: str) -> EmailMessage:
    return {
        "subject": reminder_in_app(title=title, due=due)["title"],
        "text": f"{title} is {due}.\n\nOpen it: {url}\n",
        "html": (
            f"<p><strong>{escape(title)}</strong> is {escape(due)}.</p>"
            f'<p><a href="{escape(url)}">Open the task</a></p>'
        ),
    }


def reminder_push(*, title: str, body: str, url: str, tag: str) -> PushMessage:
    """What the service worker shows, cut to fit MAX_PUSH_BYTES (the body first, then the title)."""
    message: PushMessage = {"title": title[:200], "body": body[:1000], "url": url, "tag": tag}

    def size() -> int:
        return len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode())

    while size() > MAX_PUSH_BYTES and message["body"]:
        message["body"] = message["body"][: len(message["body"]) // 2]
    while size() > MAX_PUSH_BYTES and message["title"]:
        message["title"] = message["title"][: len(message["title"]) // 2]
    return message


def reminder_webhook(*, data: Mapping[str, Any], url: str) -> dict[str, Any]:
    """The documented webhook body (docs/notifications.md) for one reminder.triggered."""
    return {
        "event": "reminder.triggered",
        "occurrence_at": data["scheduled_for"],
        "task": {
            "id": data["task_id"],
            "title": data["task_title"],
            "priority": data.get("task_priority"),
            "due_at": data.get("due_at"),
            "due_date": data.get("due_date"),
            "url": url,
        },
        "reminder": {
            "id": data["reminder_id"],
            "kind": data.get("kind"),
            "scheduled_for": data["scheduled_for"],
            "fired_at": data.get("fired_at"),
        },
    }


# --- account mails -----------------------------------------------------------


def password_reset_email(*, subject: str, username: str, link: str, minutes: int) -> EmailMessage:
    return {
        "subject": subject,
        "text": f"Someone asked to reset the password of your Taskbeat account {username}.\n\n"
        f"Choose a new one here (valid {minutes} minutes, once): {link}\n\n"
        "If it was not you, ignore this mail; your password stays as it is.\n",
        "html": f"<p>Someone asked to reset the password of your Taskbeat account "
        f"<strong>{escape(username)}</strong>.</p>"
        f'<p><a href="{escape(link)}">Choose a new password</a> (valid {minutes} minutes, once).</p>'
        "<p>If it was not you, ignore this mail; your password stays as it is.</p>",
    }


def email_verification_email(*, subject: str, address: str, link: str, days: int) -> EmailMessage:
    return {
        "subject": subject,
        "text": f"Confirm that Taskbeat may send mail to {address}: {link}\n\n"
        f"The link is valid for {days} day(s). If you did not ask for this, ignore this mail.\n",
        "html": f"<p>Confirm that Taskbeat may send mail to {escape(address)}:</p>"
        f'<p><a href="{escape(link)}">Verify this address</a> (valid {days} day(s)).</p>'
        "<p>If you did not ask for this, ignore this mail.</p>",
    }


# --- notices -----------------------------------------------------------------


def webhook_disabled_in_app(*, url: str, reason: str) -> InAppMessage:
    return {
        "title": "Your webhook was disabled",
        "body": f"Reminders are no longer sent to {url} because {reason}. "
        "Register the URL again in your notification preferences to re-enable it.",
    }
