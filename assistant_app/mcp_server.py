"""The MCP server: the assistant's tool registry over the Model Context Protocol.

Built on the official ``mcp`` SDK's low-level ``Server``: ``tools/list``
answers the registry (names, descriptions, JSON Schemas, read-only and
destructive hints), ``tools/call`` runs a tool through ``services.tool_call``
(so the usual events, audit entries and pushes, plus ``chat.tool.executed``
with ``via="mcp"``), and three resources read tasks: ``taskbeat://tasks/today``,
``taskbeat://tasks/overdue`` and ``taskbeat://tasks/{id}``.

Two transports:

* **Streamable HTTP** at ``/mcp`` (``mcp_asgi_app``, mounted in
  ``todo_project/asgi.py``), stateless with JSON responses, so any replica
  can answer any request. Every request must carry ``Authorization: Bearer
  tbp_…`` (a personal access token); the user and the token's scope are put
  into the ASGI scope's ``state`` and read back by each call. A ``read`` token
  sees and runs only the read-only tools.
  Before the token is looked at, the request's ``Host`` must be one of
  ALLOWED_HOSTS and a browser's ``Origin`` must be the site's own or a
  trusted one (CSRF_TRUSTED_ORIGINS, MCP_ALLOWED_ORIGINS): the spec's
  DNS-rebinding protection, done here because the SDK's own is meant for
  servers bound to localhost. The SDK answers an unsupported
  ``MCP-Protocol-Version`` with a 400.
* **stdio**: ``python manage.py mcp --token tbp_…`` for desktop clients that
  start the server as a subprocess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from mcp.server.lowlevel import Server

from assistant_app.models import TokenScope
from assistant_app.services import pat_authenticate, tool_call
from assistant_app.tools import REGISTRY, tool_list
from tasks_app.selectors import task_get, task_to_dict
from todo_project.errors import DomainError, error_body
from todo_project.sync.auth import allowed_hosts, host_allowed, origin_check

logger = logging.getLogger(__name__)

STATE_KEY = "taskbeat"
RESOURCES = {
    "taskbeat://tasks/today": ("Due today", "list_tasks", {"when": "today"}),
    "taskbeat://tasks/overdue": ("Overdue", "list_tasks", {"when": "overdue"}),
}
TASK_URI = "taskbeat://tasks/"


class Identity:
    """Who an MCP call acts for."""

    def __init__(self, user: User, scope: str) -> None:
        self.user = user
        self.scope = scope

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE


def _identity(ctx: Any, fallback: Identity | None) -> Identity:
    request = getattr(ctx, "request", None)
    if request is not None:
        state = request.scope.get("state") or {}
        found = state.get(STATE_KEY)
        if isinstance(found, Identity):
            return found
    if fallback is not None:
        return fallback
    raise PermissionError("not authenticated")


def _json(data: Any) -> str:
    return json.dumps(data, default=str, ensure_ascii=False)


def build_server(*, stdio_identity: Identity | None = None) -> Server[Any]:
    """The MCP server; ``stdio_identity`` is the user of a stdio session (HTTP reads it per request)."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        identity = _identity(ctx, stdio_identity)
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=t.name,
                    description=t.description,
                    input_schema=t.input_schema,
                    annotations=types.ToolAnnotations(
                        read_only_hint=not t.writes,
                        destructive_hint=t.destructive,
                        idempotent_hint=not t.writes,
                    ),
                )
                for t in tool_list(writes=identity.can_write)
            ]
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        identity = _identity(ctx, stdio_identity)
        tool = REGISTRY.get(params.name)
        if tool is not None and tool.writes and not identity.can_write:
            error = {"code": "permission_denied", "message": "This access token is read-only."}
            return types.CallToolResult(
                content=[types.TextContent(text=_json({"error": error}))], is_error=True
            )
        action = await sync_to_async(tool_call, thread_sensitive=True)(
            user=identity.user, name=params.name, arguments=params.arguments or {}, via="mcp"
        )
        if action["ok"]:
            return types.CallToolResult(
                content=[types.TextContent(text=_json(action["result"]))], structured_content=action["result"]
            )
        return types.CallToolResult(
            content=[types.TextContent(text=_json({"error": action["error"]}))],
            structured_content={"error": action["error"]},
            is_error=True,
        )

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        _identity(ctx, stdio_identity)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=uri,
                    name=name,
                    mime_type="application/json",
                    description=f"Your tasks: {name.lower()}",
                )
                for uri, (name, _tool, _args) in RESOURCES.items()
            ]
        )

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        _identity(ctx, stdio_identity)
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=TASK_URI + "{task_id}",
                    name="Task",
                    mime_type="application/json",
                    description="One of your tasks by id.",
                )
            ]
        )

    def _read(identity: Identity, uri: str) -> Any:
        if uri in RESOURCES:
            _name, tool_name, arguments = RESOURCES[uri]
            return REGISTRY[tool_name].func(_ctx(identity), arguments)
        if uri.startswith(TASK_URI):
            return task_to_dict(task_get(user=identity.user, task_id=uri.removeprefix(TASK_URI)))
        raise DomainError(f"Unknown resource {uri}.", code="not_found", status_code=404)

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        identity = _identity(ctx, stdio_identity)
        uri = str(params.uri)
        try:
            data = await sync_to_async(_read, thread_sensitive=True)(identity, uri)
        except DomainError as exc:
            data = {"error": {"code": exc.code, "message": exc.message}}
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="application/json", text=_json(data))]
        )

    return Server(
        "taskbeat",
        version="1",
        instructions="Taskbeat: your tasks and reminders. Create tasks with quick-add text "
        "(create_task), list them (list_tasks), and change them by task_id.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def _ctx(identity: Identity) -> Any:
    from assistant_app.tools import ToolContext

    return ToolContext(user=identity.user)


# --- Streamable HTTP ------------------------------------------------------------------


def _authenticate(header: str) -> Identity | None:
    from assistant_app.authentication import bearer_pat

    raw = bearer_pat(header)
    if raw is None:
        return None
    found = pat_authenticate(raw)
    if found is None:
        return None
    user, token = found
    return Identity(user, token.scope)


class McpAsgiApp:
    """ASGI app for ``/mcp``: personal-access-token auth, then the SDK's streamable HTTP.

    The SDK's session manager needs a running task group; uvicorn may run
    without lifespan events (and Channels' router has none), so it is started
    on the first request in a background task of the serving event loop.
    """

    def __init__(self) -> None:
        from django.conf import settings

        self._server = build_server()
        self._hosts = allowed_hosts()
        self._origins = origin_check(None, list(settings.MCP_ALLOWED_ORIGINS))
        self._starlette: Any = None
        self._ready: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None

    async def _ensure_started(self) -> None:
        if self._ready is None:
            self._ready = asyncio.Event()
            self._starlette = self._server.streamable_http_app(
                streamable_http_path="/mcp",
                stateless_http=True,
                json_response=True,
                host="0.0.0.0",  # noqa: S104
            )
            manager = self._server.session_manager

            async def run() -> None:
                async with manager.run():
                    assert self._ready is not None
                    self._ready.set()
                    await asyncio.Event().wait()

            self._runner = asyncio.get_running_loop().create_task(run())
        await self._ready.wait()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _send_error(send, *refusal, [])
            return
        identity = await sync_to_async(_authenticate, thread_sensitive=True)(headers.get("authorization", ""))
        if identity is None:
            await _send_error(
                send,
                401,
                "not_authenticated",
                "Send Authorization: Bearer <personal access token>.",
                [(b"www-authenticate", b'Bearer realm="mcp"')],
            )
            return
        await self._ensure_started()
        scope = dict(scope)
        scope["state"] = {**(scope.get("state") or {}), STATE_KEY: identity}
        # The SDK's app routes on the path; mounted or not, it is served at /mcp.
        scope["path"] = "/mcp"
        scope["raw_path"] = b"/mcp"
        scope["root_path"] = ""
        await self._starlette(scope, receive, send)

    def _refusal(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[int, str, str] | None:
        """DNS-rebinding protection (MCP, Streamable HTTP, "Security Warning"): a page
        on another site whose name resolves to this server must not reach it."""
        host = headers.get("host", "")
        if not host or not host_allowed(host, self._hosts):
            return 400, "invalid_host", "The Host header does not name this server."
        origin = headers.get("origin")
        # No Origin: not a browser (they always send one on a POST), so no page
        # can be driving the request.
        if origin is not None and not self._origins.allowed(scope, origin):
            return 403, "origin_not_allowed", f"Requests from the origin {origin[:200]!r} are not allowed."
        return None


async def _send_error(
    send: Any, status: int, code: str, message: str, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    """An answer in the API's one error shape, before the SDK sees the request."""
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *extra_headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


_app: McpAsgiApp | None = None


def mcp_asgi_app() -> McpAsgiApp:
    global _app
    if _app is None:
        _app = McpAsgiApp()
    return _app


# --- stdio ----------------------------------------------------------------------------


async def serve_stdio(identity: Identity) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(stdio_identity=identity)
    async with stdio_server() as (read_stream, write_stream):
        with contextlib.suppress(asyncio.CancelledError):
            await server.run(read_stream, write_stream, server.create_initialization_options())
