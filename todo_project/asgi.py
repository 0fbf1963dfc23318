"""ASGI entry point: the WebSocket (`ws` process); in development also HTTP.

Production routes /ws/ (and /mcp, the assistant's MCP server) to this
application and everything else to gunicorn, because Django's sync views
measured 2-7x slower under an ASGI server.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from todo_project.prometheus import start_metrics_server  # noqa: E402
from todo_project.routing import websocket_urlpatterns  # noqa: E402
from todo_project.sync.auth import JWTAuthMiddleware, origin_check  # noqa: E402

# The MCP server (assistant_app) is an ASGI app of the mcp SDK; named by string
# so the platform package does not import the top layer.
mcp_app = import_string("assistant_app.mcp_server.mcp_asgi_app")()


async def http_app(scope, receive, send):
    if scope["path"] == "/mcp" or scope["path"].startswith("/mcp/"):
        await mcp_app(scope, receive, send)
    else:
        await django_asgi_app(scope, receive, send)


# The ws process serves its own metrics (connections, resyncs) on METRICS_PORT.
# uvicorn runs one process per pod here, so it empties the multiprocess directory itself.
start_metrics_server(settings.METRICS_PORT)

application = ProtocolTypeRouter(
    {
        "http": http_app,
        # Foreign browser origins are refused before any auth; then the JWT
        # (subprotocol or ?token=) or else the session cookie sets scope["user"].
        "websocket": origin_check(
            SessionMiddlewareStack(JWTAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)
