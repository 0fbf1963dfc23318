"""``Authorization: Bearer tbp_…``: personal access tokens for the REST API and MCP.

Listed before the JWT authentication in ``REST_FRAMEWORK``: it answers only
for tokens with the ``tbp_`` prefix and leaves every other bearer token to the
JWT class. A ``read`` token may only make safe (GET/HEAD/OPTIONS) requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from assistant_app.models import PersonalAccessToken

# Imported lazily: DRF loads this class while its settings (and so the error
# module they name) are still being imported.
TOKEN_PREFIX = "tbp_"  # noqa: S105 - a public marker, not a secret


def bearer_pat(header: bytes | str) -> str | None:
    raw = header.decode("latin-1") if isinstance(header, bytes) else header
    parts = raw.split()
    if len(parts) == 2 and parts[0].lower() == "bearer" and parts[1].startswith(TOKEN_PREFIX):
        return parts[1]
    return None


class PersonalAccessTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, PersonalAccessToken] | None:
        raw = bearer_pat(get_authorization_header(request))
        if raw is None:
            return None
        from assistant_app.models import TokenScope
        from assistant_app.services import pat_authenticate

        found = pat_authenticate(raw)
        if found is None:
            raise exceptions.AuthenticationFailed("The access token is invalid, expired or revoked.")
        user, token = found
        if token.scope == TokenScope.READ and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied("This access token is read-only.")
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "assistant_app.authentication.PersonalAccessTokenAuthentication"
    name = "personalAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal access token (tbp_…) from POST /api/tokens.",
        }
