"""Who may read /metrics (issue 11, item 10) and what it carries.

Decision: metrics are served on a separate, non-public port (METRICS_PORT,
9100 in the image and the chart) that the Ingress never routes; on the public
port, /metrics needs the METRICS_TOKEN bearer, and without a token it does not
exist in production (DEBUG off).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    settings.METRICS_PORT = 9100
    settings.METRICS_TOKEN = None
    return settings


@pytest.mark.django_db
def test_it_hides_metrics_on_the_public_port_in_production_without_a_token(client, production):
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_it_does_not_take_the_metrics_port_from_the_host_header(client, production):
    assert client.get("/metrics", HTTP_HOST="localhost:9100").status_code == 404


@pytest.mark.django_db
def test_it_serves_metrics_on_the_metrics_port_without_a_token(client, production):
    response = client.get("/metrics", SERVER_PORT="9100")
    assert response.status_code == 200
    assert b"taskbeat_outbox_unpublished_events" in response.content


@pytest.mark.django_db
def test_it_serves_the_public_port_only_with_the_token_when_one_is_set(client, production):
    production.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics").status_code == 401
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_it_leaves_metrics_open_in_development(client, settings):
    settings.DEBUG = True
    settings.METRICS_TOKEN = None
    assert client.get("/metrics").status_code == 200


@pytest.mark.django_db
def test_it_exposes_django_prometheus_and_the_business_counters(
    client, production, alice_client, django_capture_on_commit_callbacks
):
    # given: one request through the API that records a task.created event (counted on commit)
    with django_capture_on_commit_callbacks(execute=True):
        created = alice_client.post("/api/tasks", {"title": "water the plants"}, format="json")
    assert created.status_code == 201, created.content

    # when
    body = client.get("/metrics", SERVER_PORT="9100").content.decode()

    # then: django-prometheus's HTTP and database metrics, our event counter and the DB state
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in body
    assert "django_http_responses_total_by_status_view_method_total" in body
    assert "django_db_execute_total" in body
    assert 'taskbeat_events_recorded_total{type="task.created"}' in body
    assert "taskbeat_migrations_unapplied 0.0" in body


@pytest.mark.django_db
def test_probes_and_the_metrics_port_answer_whatever_the_host(client, production):
    # The kubelet and Prometheus address pods by IP, which ALLOWED_HOSTS never lists.
    production.ALLOWED_HOSTS = ["taskbeat.example.com"]
    assert client.get("/health", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/ready", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/metrics", HTTP_HOST="10.1.2.3:9100", SERVER_PORT="9100").status_code == 200
    # …while the API itself still refuses an unknown host, and the metrics port serves nothing else.
    assert client.get("/api/tasks", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.get("/api/tasks", HTTP_HOST="10.1.2.3:9100", SERVER_PORT="9100").status_code == 404
