"""``manage.py mcp --token tbp_…``: the MCP server over stdio, for desktop clients."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assistant_app.mcp_server import Identity, serve_stdio
from assistant_app.services import pat_authenticate


class Command(BaseCommand):
    help = "Serve the assistant's tools over MCP on stdin/stdout, as the owner of a personal access token."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--token",
            default=os.environ.get("TASKBEAT_TOKEN", ""),
            help="A personal access token (or TASKBEAT_TOKEN).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        found = pat_authenticate(options["token"] or "")
        if found is None:
            raise CommandError("Give a valid personal access token with --token or TASKBEAT_TOKEN.")
        user, token = found
        asyncio.run(serve_stdio(Identity(user, token.scope)))
