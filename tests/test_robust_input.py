"""Ordinary hostile input answers a 400 in the error shape, never a 500 (issue 11, finding 7).

Each case was a 500 (Django's HTML page in production) before the fix. The
clients here do not re-raise server errors, so a 500 shows as a response.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tasks_app import services
from todo_project import urls as project_urls

pytestmark = pytest.mark.django_db

HUGE = "9" * 30  # beyond bigint once multiplied by the page size
EARLY = "0001-01-01T00:00:00+14:00"  # before year 1 in UTC
LATE = "9999-12-31T23:59:59-14:00"  # after year 9999 in UTC


@pytest.fixture
def client(alice) -> APIClient:
    from conftest import _client_for

    api = _client_for(alice)
    api.raise_request_exception = False
    return api


def _assert_400(response, field: str | None = None) -> None:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    if field is not None:
        assert field in body["error"].get("fields", {}), body


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/tasks?q=a%00b", "q"),
        ("/api/tasks?tags=wo%00rk", "tags"),
        ("/api/tags?prefix=%00", "prefix"),
        ("/api/tasks?status=act%00ive", "status"),
        ("/api/audit?action=%00", "action"),
    ],
)
def test_a_nul_byte_in_a_query_parameter_is_a_400(client, url, field):
    _assert_400(client.get(url), field)


def test_a_nul_byte_in_a_saved_filter_is_a_400(client):
    response = client.post("/api/filters", {"name": "x", "params": {"q": "a\x00b"}}, format="json")

    _assert_400(response, "params.q")


def test_a_nul_byte_anywhere_in_a_json_body_is_a_400(client):
    response = client.post("/api/tasks", {"title": "ok", "tags": ["a\x00"]}, format="json")

    _assert_400(response)


@pytest.mark.parametrize("url", ["/api/tasks", "/api/audit", "/api/notifications", "/api/reminders"])
def test_a_page_beyond_bigint_is_a_400(client, url):
    _assert_400(client.get(f"{url}?page={HUGE}"), "page")


@pytest.mark.parametrize("value", ["²", "٣", "1_0", " 5", "+5", ""])
def test_a_limit_that_is_no_plain_number_is_a_400(client, value):
    _assert_400(client.get(f"/api/tags?limit={value}"), "limit")
    _assert_400(client.get(f"/api/tasks?limit={value}"), "limit")


@pytest.mark.parametrize("url", ["/api/views/today?limit=²", "/api/views/upcoming?limit=٣"])
def test_a_view_limit_that_is_no_plain_number_is_a_400(client, url):
    _assert_400(client.get(url), "limit")


def test_an_api_version_header_that_is_no_plain_number_is_a_400(client):
    _assert_400(client.get("/api/tasks", HTTP_TASKBEAT_API_VERSION="²"), "Taskbeat-API-Version")


@pytest.mark.parametrize("value", ["0", "1", ""])
def test_archived_takes_only_its_documented_values(client, value):
    _assert_400(client.get(f"/api/projects?archived={value}"), "archived")


@pytest.mark.parametrize("name", ["page", "limit", "status"])
def test_an_empty_list_parameter_is_a_400(client, name):
    _assert_400(client.get(f"/api/tasks?{name}="), name)


@pytest.mark.parametrize("value", [EARLY, LATE])
@pytest.mark.parametrize("name", ["due_after", "due_before"])
def test_a_list_bound_that_overflows_in_utc_is_a_400(client, name, value):
    _assert_400(client.get("/api/tasks", {name: value}), name)


@pytest.mark.parametrize("value", [EARLY, LATE])
def test_a_due_at_that_overflows_in_utc_is_a_400(client, value):
    _assert_400(client.post("/api/tasks", {"title": "x", "due_at": value}, format="json"), "due_at")


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_a_due_date_at_the_edge_of_the_calendar_is_a_400(client, value):
    _assert_400(client.post("/api/tasks", {"title": "x", "due_date": value}, format="json"), "due_date")


def test_a_client_updated_at_that_overflows_is_a_400(client, alice):
    task = services.task_create(owner=alice, title="x")

    response = client.patch(
        f"/api/tasks/{task.pk}", {"title": "y", "client_updated_at": EARLY}, format="json"
    )

    _assert_400(response, "client_updated_at")


def test_a_preview_start_that_overflows_is_a_400(client):
    response = client.post("/api/recurrence/preview", {"rule": "FREQ=DAILY", "start": EARLY}, format="json")

    _assert_400(response, "start")


@pytest.mark.parametrize(
    "query", ["due_date=0001-01-01", "due_date=9999-12-31", f"due_at={EARLY}", f"due_at={LATE}"]
)
def test_reminder_suggestions_at_the_edge_of_the_calendar_are_a_400(client, query):
    _assert_400(client.get(f"/api/reminders/suggestions?{query}"))


def test_a_reminder_time_that_overflows_is_a_400(client, alice):
    task = services.task_create(owner=alice, title="x", due_at=None)

    response = client.post(f"/api/tasks/{task.pk}/reminders", {"remind_at": LATE}, format="json")

    _assert_400(response, "remind_at")


def test_a_deeply_nested_body_is_a_400(client):
    response = client.generic("POST", "/api/tasks", "[" * 100_000, content_type="application/json")

    _assert_400(response)


# -- anything unhandled: the JSON shape, a 500 and a request id ---------------------------------


class _Broken(APIView):
    permission_classes = ()
    authentication_classes = ()

    def get(self, request):
        raise RuntimeError("boom")


def _plain_broken(request):
    raise RuntimeError("boom")


urlpatterns = [
    path("broken/api", _Broken.as_view()),
    path("broken/plain", _plain_broken),
    *project_urls.urlpatterns,
]
handler500 = project_urls.handler500


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("url", ["/broken/api", "/broken/plain"])
def test_an_unhandled_exception_answers_json_with_a_request_id(url):
    client = APIClient(raise_request_exception=False)

    response = client.get(url, HTTP_X_REQUEST_ID="req-77")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "error": {"code": "server_error", "message": "Internal server error.", "request_id": "req-77"}
    }
    assert response["X-Request-ID"] == "req-77"
