"""Web Push, the fourth notification channel (docs/notifications.md "Web Push").

``selectors`` reads the server's key and the user's browsers; ``services``
registers and removes subscriptions and turns a fired reminder into one
notification per browser, delivered by the common delivery path of
``notifications_app.services`` (lease, retries, quiet hours) through
``notifications_app.transports.send_push``.
"""
