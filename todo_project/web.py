"""The web app (frontend/, built by Vite into frontend/dist/) at ``/``.

WhiteNoise serves the build's files from the site root (``WHITENOISE_ROOT``):
``/assets/*`` carry a content hash in their names and are cached for a year;
everything else it finds (``/sw.js``, ``/manifest.webmanifest``) briefly. Any
other path that is not the API, the admin, ``/ws/``, ``/mcp``, static files or a probe
is one of the app's own routes (``/today``, ``/tasks/<id>``) and gets its
``index.html``, never cached, so a new build is picked up on the next load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

# The paths the SPA fallback must leave to their own views (or to a 404).
SERVER_PATHS = r"^(?!(?:api|admin|ws|static|mcp)(?:/|$)|(?:health|ready|metrics)/?$)"


@lru_cache(maxsize=1)
def _index_html(path: Path, mtime: float) -> bytes:
    return path.read_bytes()


@never_cache
def spa_index(request: HttpRequest, path: str = "") -> HttpResponse:
    index = Path(settings.FRONTEND_DIST_DIR) / "index.html"
    try:
        body = _index_html(index, index.stat().st_mtime)
    except FileNotFoundError:
        return HttpResponse(
            "The web app is not built. Run scripts/run.sh (it builds it), "
            "or `npm ci && npm run build` in frontend/.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(body, content_type="text/html; charset=utf-8")
