"""The MCP server end to end: a real uvicorn process, the mcp SDK's own client over streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from assistant_app.services import pat_create
from tasks_app.models import Task
from todo_project.sync.tests.conftest import start_server

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def mcp_server(django_db_setup, tmp_path_factory):
    # One server for the module (a start costs a second or more): it keeps no
    # state of its own between tests, only the database's, emptied after each.
    server = start_server(
        tmp_path_factory.mktemp("mcp"),
        CELERY_TASK_ALWAYS_EAGER="true",
        MCP_ALLOWED_ORIGINS="https://assistant.example.org",
    )
    yield server
    server.stop()


def _run(url: str, token: str, steps: Any) -> Any:
    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return await steps(client)

    return asyncio.run(main())


def test_an_mcp_client_manages_a_recurring_task_and_another_users_token_sees_nothing(alice, bob, mcp_server):
    # given
    _, alice_token = pat_create(user=alice, name="desktop", scope="write")
    _, bob_token = pat_create(user=bob, name="desktop", scope="write")
    url = mcp_server.http("/mcp")

    async def as_alice(client: Client) -> dict[str, Any]:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        created = await client.call_tool("create_task", {"text": "Water plants every Monday at 9am #home"})
        task = created.structured_content["task"]
        listed = await client.call_tool("list_tasks", {"tags": ["home"]})
        done = await client.call_tool("complete_task", {"task_id": task["id"]})
        after = await client.call_tool("list_tasks", {"query": "water"})
        bad = await client.call_tool("create_task", {"txet": "typo"})
        resource = await client.read_resource(f"taskbeat://tasks/{task['id']}")
        resources = await client.list_resources()
        return {
            "tools": tools,
            "task": task,
            "listed": listed.structured_content,
            "done": done.structured_content,
            "after": after.structured_content,
            "bad": bad,
            "resource": json.loads(resource.contents[0].text),  # type: ignore[union-attr]  # a text resource
            "resources": [str(r.uri) for r in resources.resources],
        }

    # when
    seen = _run(url, alice_token, as_alice)

    # then: the tools carry schemas and hints
    assert {"create_task", "list_tasks", "complete_task", "stop_series", "delete_task"} <= set(seen["tools"])
    assert seen["tools"]["create_task"].input_schema["required"] == ["text"]
    assert seen["tools"]["delete_task"].annotations.destructive_hint is True
    assert seen["tools"]["list_tasks"].annotations.read_only_hint is True
    # a recurring task was created, listed, completed, and the next occurrence is there
    assert seen["task"]["is_recurring"] is True
    assert [t["id"] for t in seen["listed"]["tasks"]] == [seen["task"]["id"]]
    assert seen["done"]["task"]["is_completed"] is True
    open_ids = [t["id"] for t in seen["after"]["tasks"]]
    assert len(open_ids) == 1
    assert open_ids != [seen["task"]["id"]]
    series = Task.objects.get(pk=seen["task"]["id"]).series
    assert Task.objects.filter(series=series).count() == 2
    # a schema violation is a tool error, not a protocol failure
    assert seen["bad"].is_error is True
    assert seen["resource"]["id"] == seen["task"]["id"]
    assert "taskbeat://tasks/today" in seen["resources"]

    async def as_bob(client: Client) -> dict[str, Any]:
        listed = await client.call_tool("list_tasks", {})
        other = await client.call_tool("get_task", {"task_id": seen["task"]["id"]})
        by_name = await client.call_tool("complete_task", {"task": "water plants"})
        resource = await client.read_resource(f"taskbeat://tasks/{seen['task']['id']}")
        return {"listed": listed.structured_content, "other": other, "by_name": by_name, "resource": resource}

    bobs = _run(url, bob_token, as_bob)
    assert bobs["listed"]["tasks"] == []
    assert bobs["other"].is_error is True
    assert bobs["other"].structured_content["error"]["status"] == 404
    assert bobs["by_name"].is_error is True
    assert json.loads(bobs["resource"].contents[0].text)["error"]["code"] == "not_found"
    assert Task.objects.filter(owner=alice, is_completed=False).count() == 1


def test_a_read_token_sees_only_read_tools_and_cannot_write(alice, mcp_server):
    _, token = pat_create(user=alice, name="reader", scope="read")

    async def steps(client: Client) -> Any:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("create_task", {"text": "nope"})
        return names, refused

    names, refused = _run(mcp_server.http("/mcp"), token, steps)
    assert "list_tasks" in names
    assert "create_task" not in names
    assert refused.is_error is True
    assert not Task.objects.exists()


def test_mcp_without_a_valid_token_is_a_401(mcp_server):
    for header in ({}, {"Authorization": "Bearer tbp_wrong"}):
        request = urllib.request.Request(  # noqa: S310 - our own local test server
            mcp_server.http("/mcp"), data=b"{}", headers={"Content-Type": "application/json", **header}
        )
        with pytest.raises(urllib.error.HTTPError) as failure:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310
        assert failure.value.code == 401
        assert json.loads(failure.value.read())["error"]["code"] == "not_authenticated"


def test_the_stdio_command_serves_the_same_tools(alice):
    import sys

    from mcp.client.stdio import StdioServerParameters

    from todo_project.sync.tests.conftest import BASE_DIR, _server_env

    _, token = pat_create(user=alice, name="desktop", scope="write")
    params = StdioServerParameters(
        command=sys.executable,
        args=["manage.py", "mcp"],
        env={**_server_env({}), "TASKBEAT_TOKEN": token},
        cwd=str(BASE_DIR),
    )

    async def main() -> Any:
        async with Client(params) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            created = await client.call_tool("create_task", {"text": "Stretch every day at 7am"})
            return names, created.structured_content

    names, created = asyncio.run(main())
    assert "create_task" in names
    assert created["task"]["title"] == "Stretch"
    assert Task.objects.filter(owner=alice, title="Stretch", is_recurring=True).exists()


def test_the_stdio_command_refuses_a_bad_token():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("mcp", "--token", "tbp_nope")


def _post(url: str, headers: dict[str, str], body: bytes = b"{}") -> tuple[int, dict[str, Any], Any]:
    request = urllib.request.Request(  # noqa: S310 - our own local test server
        url, data=body, headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as failure:
        return failure.code, dict(failure.headers), json.loads(failure.read() or b"null")


def _list_tools_with(url: str, token: str, **headers: str) -> Any:
    """The SDK's client, with extra headers on every request (what a browser would add)."""

    async def main() -> Any:
        async with httpx2.AsyncClient(
            headers={"Authorization": f"Bearer {token}", **headers}, timeout=30
        ) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                return [t.name for t in (await client.list_tools()).tools]

    return asyncio.run(main())


def test_a_foreign_browser_origin_is_refused_before_the_token_is_looked_at(alice, mcp_server):
    _, token = pat_create(user=alice, name="desktop", scope="write")
    url = mcp_server.http("/mcp")
    port = url.split(":")[2].split("/")[0]

    # The SDK's client works without an Origin (not a browser), from our own
    # origin, and from an origin the operator allowed (MCP_ALLOWED_ORIGINS).
    assert "create_task" in _list_tools_with(url, token)
    assert "create_task" in _list_tools_with(url, token, Origin=f"http://127.0.0.1:{port}")
    assert "create_task" in _list_tools_with(url, token, Origin="https://assistant.example.org")

    # A page on another site (a DNS-rebinding attack, or any cross-site page):
    # 403 in the API's error shape, with or without a valid token.
    for origin in (
        "http://evil.example",
        f"http://127.0.0.1:{int(port) + 1}",
        "null",
        f"https://127.0.0.1:{port}",
    ):
        for auth in ({"Authorization": f"Bearer {token}"}, {}):
            status, _headers, body = _post(url, {"Origin": origin, **auth})
            assert status == 403, origin
            assert body["error"]["code"] == "origin_not_allowed"
    # The SDK's client sees the refusal as an error, not a session.
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK wraps the HTTP 403 in its own error types
        _list_tools_with(url, token, Origin="http://evil.example")


def test_a_host_header_naming_another_site_is_refused(alice, mcp_server):
    _, token = pat_create(user=alice, name="desktop", scope="write")
    status, _headers, body = _post(
        mcp_server.http("/mcp"), {"Host": "evil.example", "Authorization": f"Bearer {token}"}
    )
    assert status == 400
    assert body["error"]["code"] == "invalid_host"


def test_an_unsupported_protocol_version_header_is_a_400(alice, mcp_server):
    _, token = pat_create(user=alice, name="desktop", scope="write")
    request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    status, _h, _body = _post(
        mcp_server.http("/mcp"), {**headers, "MCP-Protocol-Version": "1999-01-01"}, request
    )
    assert status == 400
    status, _h, body = _post(
        mcp_server.http("/mcp"), {**headers, "MCP-Protocol-Version": "2025-06-18"}, request
    )
    assert status == 200
    assert any(tool["name"] == "create_task" for tool in body["result"]["tools"])
