from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from todo_project import health, metrics, web

urlpatterns = [
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
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
if settings.API_DOCS_ENABLED:  # issue 11 item 10: the interactive docs can be switched off
    urlpatterns += [
        path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
        path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    ]
