import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from todo_project import admin_site, health, metrics, web  # noqa: F401 - admin_site brands the admin
from todo_project.accounts.views import admin_login


def _docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``view``, or a 404 when API_DOCS_ENABLED is off (read per request)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.API_DOCS_ENABLED:
            raise Http404("The API docs are switched off.")
        return view(request, *args, **kwargs)

    return guarded


# Anything failing outside a view still answers the JSON error shape.
handler500 = "todo_project.errors.server_error"

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # Before admin.site.urls: the admin login is throttled like the API login.
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    # The API docs, switched by API_DOCS_ENABLED. Swagger UI's split view
    # loads its initialiser as a same-origin script (script-src 'self').
    path("api/schema/", _docs(SpectacularAPIView.as_view()), name="schema"),
    path("api/docs/", _docs(SpectacularSwaggerSplitView.as_view(url_name="schema")), name="api-docs"),
    path(
        "api/redoc/",
        _docs(SpectacularRedocView.as_view(url_name="schema", template_name="taskbeat/redoc.html")),
        name="api-redoc",
    ),
    path("api/", include("todo_project.accounts.urls")),
    path("api/", include("tasks_app.urls")),
    path("api/", include("reminders_app.urls")),
    path("api/", include("notifications_app.urls")),
    path("api/", include("audit_app.urls")),
    path("api/", include("todo_project.events.urls")),
    path("api/", include("todo_project.sync.urls")),
    path("api/", include("assistant_app.urls")),
    # Last: every other path is a route of the web app (frontend/).
    re_path(web.SERVER_PATHS + r"(?P<path>.*)$", web.spa_index, name="web-app"),
]
