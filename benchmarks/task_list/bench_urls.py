"""The product's URLs plus the baseline: a plain Django view over ``.values()``.

The baseline exists only here, never in the product's URLs. It does what the
list endpoint does minus everything the product adds (auth, throttling,
validation, pagination, the count): the same 20 rows, straight to JSON.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.settings import api_settings

from tasks_app.models import Task
from todo_project.urls import urlpatterns as product_urlpatterns

BASELINE_OWNER_ID = int(os.environ.get("BENCH_BASELINE_OWNER_ID", "0"))


def plain_values_list(request: HttpRequest) -> JsonResponse:
    rows = list(Task.objects.filter(owner_id=BASELINE_OWNER_ID).order_by("position")[:20].values())
    return JsonResponse({"results": rows})


def plain_values_list_jwt(request: HttpRequest) -> JsonResponse:
    """The baseline plus the product's authentication (its classes in order, as DRF tries them;
    the first, personal access tokens, passes a JWT on to the JWT class)."""
    drf_request = Request(request)
    authenticated = None
    for auth_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        authenticated = auth_class().authenticate(drf_request)
        if authenticated is not None:
            break
    if authenticated is None:
        return JsonResponse({"detail": "unauthenticated"}, status=401)
    user, _ = authenticated
    rows = list(Task.objects.filter(owner_id=user.pk).order_by("position")[:20].values())
    return JsonResponse({"results": rows})


urlpatterns = [
    path("bench/plain-values", plain_values_list),
    path("bench/plain-values-jwt", plain_values_list_jwt),
    *product_urlpatterns,
]
