"""The chart's processes, run for real from the rendered manifests, and a real
Prometheus scraping them with the chart's rules.

No cluster and no container engine here, so each rendered container runs as a
local process with exactly its rendered command, env, ConfigMap, Secret files
and ports (tests/pods.py), against real PostgreSQL (a database of its own,
created by the rendered migrate Job), a Redis server of its own and a
Kafka-protocol broker (tansu). Then: a REST write through the web Service
reaches a WebSocket client on the ws Service and Kafka; Prometheus (Debian's
package) scrapes every metrics port with the ServiceMonitor's settings, every
metric the dashboards and rules name arrives, and stopping the worker sends
TaskbeatWorkerDown to pending.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from django.db import connections
from websockets.sync.client import connect

from tests.deploy_support import DASHBOARDS_DIR, one, render, require_binary
from tests.pods import Pod, free_port, service_port, workloads
from todo_project.keys import load_or_create_local_keypair
from todo_project.testing import database_url

pytestmark = [pytest.mark.slow, pytest.mark.kafka]

HOST = "taskbeat.test"
COMPONENTS = ["web", "ws", "worker", "beat", "bridge"]


def _http(port: int, path: str, *, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    headers = {"Host": HOST, "Content-Type": "application/json", "X-Request-ID": "chart-e2e-1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - our local process
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


@pytest.fixture(scope="module")
def database(django_db_setup, django_db_blocker) -> Iterator[str]:
    """A fresh, empty database on the test server: the migrate Job must build it."""
    params = dict(connections["default"].settings_dict)
    name = f"tb_chart_{uuid.uuid4().hex[:8]}"
    admin = {**params, "NAME": "postgres"}
    with django_db_blocker.unblock(), psycopg.connect(database_url(admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url({**params, "NAME": name})
    finally:
        with django_db_blocker.unblock(), psycopg.connect(database_url(admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A Redis server of this test's own (the worker consumes the whole Celery queue)."""
    import shutil
    import sys

    binary = shutil.which("redis-server", path=str(Path(sys.executable).parent)) or require_binary(
        "redis-server"
    )
    port = free_port()
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while (
            subprocess.run(
                [binary.replace("redis-server", "redis-cli"), "-p", str(port), "ping"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            != "PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


class OtlpReceiver:
    """A local OTLP/HTTP trace receiver: decodes each ExportTraceServiceRequest it is sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans: list[dict[str, str]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            receiver.spans.append(
                                {
                                    "service": attrs.get("service.name", ""),
                                    "trace_id": span.trace_id.hex(),
                                    "name": span.name,
                                    "scope": scope.scope.name,
                                }
                            )
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stack(database, redis_url, kafka_broker, otlp, tmp_path_factory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("pods")
    private, public = load_or_create_local_keypair(root / "jwt")
    prefix = f"e2e{uuid.uuid4().hex[:6]}."
    values = {
        "secrets": {
            "values": {
                "SECRET_KEY": "chart-e2e-" + uuid.uuid4().hex + uuid.uuid4().hex,
                "JWT_PRIVATE_KEY": private,
                "JWT_PUBLIC_KEY": public,
                "DATABASE_URL": database,
                "REDIS_URL": redis_url,
            }
        },
        "ingress": {"enabled": True, "hosts": [HOST]},
        "kafka": {"bootstrapServers": kafka_broker.bootstrap, "topicPrefix": prefix, "replicationFactor": 1},
        "metrics": {
            "serviceMonitor": {"enabled": True, "interval": "1s"},
            "prometheusRule": {"enabled": True},
        },
        # Two cores for everything: the smallest sizes that still run every process type.
        "web": {"workers": 2, "threads": 2},
        "worker": {"concurrency": 2},
        "config": {"logLevel": "WARNING", "extra": {"KAFKA_DELIVERY_TIMEOUT_MS": "3000"}},
        "otel": {"endpoint": otlp.endpoint},
    }
    objects = render(values)
    specs = workloads(objects)
    assert set(specs) == {"migrate", *COMPONENTS}
    pods = {name: Pod(name, spec, objects, root) for name, spec in specs.items()}
    try:
        # The pre-install hook first, to completion, as Helm does.
        migrate = pods.pop("migrate")
        assert migrate.run_to_completion(timeout=600) == 0, migrate.log()
        for name in COMPONENTS:
            pods[name].start()
        for name in COMPONENTS:
            pods[name].wait_ready()
        yield {
            "objects": objects,
            "pods": pods,
            "prefix": prefix,
            "broker": kafka_broker,
            "root": root,
            "otlp": otlp,
        }
    finally:
        for pod in pods.values():
            pod.stop()


def test_a_rest_write_reaches_a_websocket_client_and_kafka(stack):
    objects, pods = stack["objects"], stack["pods"]
    web = service_port(objects, pods, "tb-taskbeat-web", "http")
    ws = service_port(objects, pods, "tb-taskbeat-ws", "http")

    # given a user with a token, connected to the ws Service as the Ingress routes /ws/
    status, _ = _http(
        web,
        "/api/auth/register",
        body={"username": "erin", "email": "erin@example.com", "password": "a-long-pass-phrase-9"},
    )
    assert status == 201, _
    status, tokens = _http(
        web, "/api/auth/login", body={"username": "erin", "password": "a-long-pass-phrase-9"}
    )
    assert status == 200, tokens
    token = tokens["access"]
    with connect(
        f"ws://127.0.0.1:{ws}/ws/tasks/",
        subprotocols=["bearer", token],
        open_timeout=20,
    ) as socket:
        assert json.loads(socket.recv(timeout=20))["type"] == "connected"
        socket.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
        assert json.loads(socket.recv(timeout=20))["type"] == "subscribed"

        # when she creates a task through the web Service
        status, created = _http(web, "/api/tasks", body={"title": "Ship the chart"}, token=token)
        assert status == 201, created

        # then the worker's handler pushes it through Redis to the ws process
        deadline = time.monotonic() + 60
        while True:
            frame = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if frame["type"] == "task.created":
                break
        assert frame["data"]["task"]["id"] == created["id"]
        assert frame["request_id"] == "chart-e2e-1"

    # and the bridge published the CloudEvent to Kafka
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": stack["broker"].bootstrap,
            "group.id": f"e2e-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([f"{stack['prefix']}task-events"])
    try:
        deadline = time.monotonic() + 60
        found = None
        while found is None and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            headers = dict(message.headers() or [])
            if headers.get("ce_type") == b"task.created" and created["id"] in message.value().decode():
                found = message
        assert found is not None, pods["bridge"].log()
        # the correlation id of the REST call travels as a CloudEvents extension
        assert dict(found.headers())["ce_requestid"] == b"chart-e2e-1"
    finally:
        consumer.close()

    # and a reminder due in a moment fires (beat's scan, run by the worker)
    remind_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    status, reminder = _http(
        web,
        f"/api/tasks/{created['id']}/reminders",
        body={"remind_at": remind_at, "channels": ["in_app"]},
        token=token,
    )
    assert status == 201, reminder
    deadline = time.monotonic() + 60
    while reminder["status"] != "triggered":
        assert time.monotonic() < deadline, (reminder, pods["worker"].log())
        time.sleep(1)
        status, reminder = _http(web, f"/api/reminders/{reminder['id']}", token=token)

    # and GET /api/sync answers (a resync page, counted in taskbeat_websocket_resyncs_total)
    status, page = _http(web, "/api/sync?since=0", token=token)
    assert status == 200, page


def _metric_names(text: str) -> set[str]:
    return set(re.findall(r"\b((?:taskbeat|django)_[a-z0-9_]+|up)\b", text)) - {"django_prometheus"}


# Labelled metrics that have no series until their first occurrence (a database
# error; a notification delivered); each must still be declared in the code.
APPEAR_ON_FIRST_USE = {
    "django_db_errors_total": "django_prometheus/db/metrics.py",
    "taskbeat_notification_deliveries_total": "todo_project/prometheus.py",
    "taskbeat_notifications": "notifications_app/metrics.py",
}


def _prometheus_config(stack: dict[str, Any], rules_file: Path) -> dict[str, Any]:
    """Scrape config equivalent to the rendered ServiceMonitor: its endpoint, path and
    interval, one target per Service labelled for it, component from the Service label."""
    objects, pods = stack["objects"], stack["pods"]
    monitor = one(objects, "ServiceMonitor", "tb-taskbeat")
    (endpoint,) = monitor["spec"]["endpoints"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    targets = []
    for service in objects:
        labels = service["metadata"].get("labels", {})
        if service["kind"] == "Service" and all(labels.get(k) == v for k, v in selector.items()):
            port = service_port(objects, pods, service["metadata"]["name"], endpoint["port"])
            targets.append(
                {
                    "targets": [f"127.0.0.1:{port}"],
                    "labels": {"component": labels["app.kubernetes.io/component"]},
                }
            )
    interval = endpoint["interval"]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_file)],
        "scrape_configs": [
            {"job_name": "taskbeat", "metrics_path": endpoint["path"], "static_configs": targets}
        ],
    }


def _query(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:  # noqa: S310
        return json.load(response)["data"]


def test_prometheus_scrapes_every_process_and_the_worker_down_alert_goes_pending(stack, tmp_path):
    # given: a real Prometheus with the rendered PrometheusRule's groups and the ServiceMonitor's scrape
    rule = one(stack["objects"], "PrometheusRule", "tb-taskbeat")
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(_prometheus_config(stack, rules_file)))
    promtool = require_binary("promtool")
    assert (
        subprocess.run(
            [promtool, "check", "config", str(config)], capture_output=True, check=False
        ).returncode
        == 0
    )
    port = free_port()
    prometheus = subprocess.Popen(
        [
            require_binary("prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=(tmp_path / "prometheus.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        # when every target has been scraped
        deadline = time.monotonic() + 90
        while True:
            try:
                active = _query(port, "/api/v1/targets")["activeTargets"]
                healthy = {t["labels"]["component"] for t in active if t["health"] == "up"}
            except OSError:
                healthy = set()
            if healthy == set(COMPONENTS):
                break
            assert time.monotonic() < deadline, (healthy, (tmp_path / "prometheus.log").read_text()[-3000:])
            time.sleep(1)

        # then every metric the dashboards and the rules name has arrived
        time.sleep(3)
        scraped = set(_query(port, "/api/v1/label/__name__/values"))
        wanted = _metric_names(rules_file.read_text())
        for dashboard in DASHBOARDS_DIR.glob("*.json"):
            for panel in json.loads(dashboard.read_text())["panels"]:
                for target in panel["targets"]:
                    wanted |= _metric_names(target["expr"])
        missing = {name for name in wanted if name not in scraped and f"{name}_bucket" not in scraped}
        assert missing - set(APPEAR_ON_FIRST_USE) == set(), sorted(missing)
        for name, module in APPEAR_ON_FIRST_USE.items():
            import django_prometheus

            base = (
                Path(django_prometheus.__file__).parent.parent if module.startswith("django_") else Path(".")
            )
            assert name.removesuffix("_total") in (base / module).read_text()
        assert _query(port, '/api/v1/query?query=taskbeat_events_recorded_total{type="task.created"}')[
            "result"
        ]

        # when the worker stops
        stack["pods"]["worker"].stop()

        # then TaskbeatWorkerDown goes pending (its for: 1m keeps it from firing yet)
        deadline = time.monotonic() + 60
        while True:
            alerts = _query(port, "/api/v1/alerts")["alerts"]
            states = {a["labels"]["alertname"]: a["state"] for a in alerts}
            if states.get("TaskbeatWorkerDown") in ("pending", "firing"):
                break
            assert time.monotonic() < deadline, states
            time.sleep(1)
    finally:
        prometheus.terminate()
        prometheus.wait(20)


def test_one_requests_spans_join_one_trace_from_web_to_the_worker(stack):
    # The REST write of the first test: its web span, and the worker's task span
    # for dispatching its events, carry one trace id (Celery passes the context
    # in the task headers). Spans are exported in batches, so wait for them.
    otlp = stack["otlp"]
    deadline = time.monotonic() + 30
    while True:
        web = [s for s in otlp.spans if s["service"] == "taskbeat-web" and s["name"].startswith("POST")]
        traces = {s["trace_id"] for s in web}
        joined = [s for s in otlp.spans if s["service"] == "taskbeat-worker" and s["trace_id"] in traces]
        if joined:
            break
        assert time.monotonic() < deadline, sorted({(s["service"], s["name"]) for s in otlp.spans})[:40]
        time.sleep(1)
    worker_scopes = {s["scope"] for s in joined}
    assert any("celery" in scope for scope in worker_scopes), worker_scopes
    services = {s["service"] for s in otlp.spans}
    assert {"taskbeat-web", "taskbeat-worker", "taskbeat-beat"} <= services


def test_every_process_logs_json_lines(stack):
    for name in ("web", "worker", "beat"):
        lines = [line for line in stack["pods"][name].log().splitlines() if line.startswith("{")]
        assert lines, f"{name} wrote no JSON log line:\n{stack['pods'][name].log()}"
        for line in lines:
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= set(entry)
