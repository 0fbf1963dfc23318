"""Mail a verification link to every account whose e-mail address is unverified.

Accounts created before e-mail verification existed start unverified: they
cannot log in by e-mail and receive no reminder mail until they open a link.
Run once after upgrading (harmless to repeat: pending requests are skipped).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from todo_project.accounts.services import email_verification_request_unverified


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        asked = email_verification_request_unverified()
        self.stdout.write(f"asked {asked} account(s) to verify their e-mail address")
