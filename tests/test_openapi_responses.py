"""The response check in the root conftest: documented responses are held to /api/schema/."""

from __future__ import annotations

from todo_project.testing_openapi import response_errors


def test_it_flags_a_response_that_breaks_its_documented_schema():
    errors = response_errors(
        path="/api/tasks/3f1e7a52-0000-4000-8000-000000000000",
        method="get",
        status=200,
        content_type="application/json",
        body={"id": 5, "title": None},
    )
    assert errors
    assert any("title" in error or "required" in error for error in errors)


def test_it_accepts_the_documented_error_shape():
    body = {"error": {"code": "not_found", "message": "Task not found."}}
    errors = response_errors(
        path="/api/tasks/nope", method="get", status=404, content_type="application/json", body=body
    )
    assert errors == []


def test_it_leaves_undocumented_paths_and_statuses_alone():
    assert (
        response_errors(path="/health", method="get", status=200, content_type="application/json", body={})
        is None
    )
    assert (
        response_errors(path="/api/tasks", method="get", status=418, content_type="application/json", body=[])
        is None
    )
