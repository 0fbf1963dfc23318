"""The Helm chart, checked by real tools: Helm's engine and linter, the Kubernetes
JSON schemas (oldest and newest supported version, strict), the CRD schemas,
values.schema.json and checkov. No cluster is needed for any of it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy_support import (
    BASE_DIR,
    CHART,
    KUBE_VERSIONS,
    PROFILE_FILES,
    container,
    deep_merge,
    find,
    load_yaml,
    one,
    profile_name,
    render,
    render_profile,
)

# checkov and the Kubernetes schemas over every profile take over a minute: in
# the full run (and CI), not the fast subset.
pytestmark = pytest.mark.slow

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEFAULTS = load_yaml(CHART / "values.yaml")
CRD_SCHEMAS = json.loads((BASE_DIR / "tests" / "schemas" / "crds.json").read_text())["schemas"]
SECRETS = load_yaml(CHART / "ci" / "defaults-values.yaml")
LONG_RUNNING = ["web", "ws", "worker", "beat", "bridge"]
PROFILES = {profile_name(path): path for path in PROFILE_FILES}


def _validate_object(obj: dict[str, Any], version: str) -> None:
    key = f"{obj['apiVersion']}/{obj['kind']}"
    if key in CRD_SCHEMAS:
        jsonschema.validate(obj, CRD_SCHEMAS[key])
        return
    # strict: a field the schema does not know is an error (a typo, or a field
    # newer than the oldest supported Kubernetes).
    kubernetes_validate.validate(obj, version, strict=True)


def test_there_are_at_least_twelve_profiles():
    assert len(PROFILES) >= 12


def test_values_yaml_and_every_profile_satisfy_the_schema():
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.validate(DEFAULTS, SCHEMA)
    for path in PROFILE_FILES:
        jsonschema.validate(deep_merge(DEFAULTS, load_yaml(path) or {}), SCHEMA)


def test_every_schema_example_is_valid():
    assert SCHEMA["examples"], "values.schema.json should carry at least one example"
    for example in SCHEMA["examples"]:
        jsonschema.validate(deep_merge(DEFAULTS, example), SCHEMA)


def _objects_with_additional_properties(node: dict[str, Any], path: str = "") -> list[str]:
    """Paths of object schemas that would silently accept an unknown key."""
    loose: list[str] = []
    if (
        node.get("type") == "object"
        and "properties" in node
        and node.get("additionalProperties") is not False
    ):
        loose.append(path or "/")
    for key, child in node.get("properties", {}).items():
        loose += _objects_with_additional_properties(child, f"{path}.{key}")
    return loose


def test_the_schema_refuses_unknown_keys_at_every_level():
    assert _objects_with_additional_properties(SCHEMA) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"replicaCount": 3},
        {"web": {"replica": 3}},
        {"worker": {"keda": {"maxReplicaCount": 3}}},
        {"secrets": {"keys": {"SECRET": "x"}}},
        {"secrets": {"values": {"NOT_A_SECRET": "x"}}},
        {"config": {"logFormat": "xml"}},
        {"networkPolicy": {"egress": {"smtp": []}}},
    ],
    ids=lambda bad: json.dumps(bad),
)
def test_helm_refuses_values_the_schema_does_not_know(bad):
    import helm_python

    with pytest.raises(helm_python.HelmError):
        render(deep_merge(SECRETS, bad))


@pytest.mark.parametrize("version", KUBE_VERSIONS)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_rendered_object_is_valid_kubernetes(profile, version):
    objects = render_profile(PROFILES[profile])
    assert objects
    for obj in objects:
        _validate_object(obj, version)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_helm_lint_is_clean(profile):
    import helm_python

    report = helm_python.lint(
        str(CHART), load_yaml(PROFILES[profile]) or {}, strict=True, namespace="taskbeat"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2] + report["errors"]
    assert problems == []


def test_the_chart_refuses_hpa_and_keda_on_one_worker():
    import helm_python

    with pytest.raises(helm_python.HelmError, match="either autoscaling"):
        render(deep_merge(SECRETS, {"worker": {"autoscaling": {"enabled": True}, "keda": {"enabled": True}}}))


def test_the_chart_names_a_missing_secret_value():
    import helm_python

    with pytest.raises(helm_python.HelmError, match=r"secrets.values.DATABASE_URL is required"):
        render({})


def test_defaults_give_every_long_running_process_a_deployment_a_pdb_and_probes():
    objects = render(deep_merge(SECRETS, {"kafka": {"bootstrapServers": "kafka:9092"}}))
    for component in LONG_RUNNING:
        deployment = one(objects, "Deployment", f"tb-taskbeat-{component}")
        one(objects, "PodDisruptionBudget", f"tb-taskbeat-{component}")
        pod = deployment["spec"]["template"]["spec"]
        c = container(deployment)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in c, f"{component} has no {probe}"
        assert c["resources"]["requests"]
        assert c["resources"]["limits"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        assert pod["topologySpreadConstraints"]
        assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in c["ports"]
    for component in ("web", "ws"):
        c = container(one(objects, "Deployment", f"tb-taskbeat-{component}"))
        assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
        assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_without_kafka_there_is_no_bridge():
    objects = render(SECRETS)
    assert find(objects, "Deployment", "tb-taskbeat-bridge") == []
    assert "KAFKA_BOOTSTRAP_SERVERS" not in one(objects, "ConfigMap", "tb-taskbeat")["data"]


def test_the_migration_is_a_pre_install_pre_upgrade_hook_with_its_own_config():
    objects = render(SECRETS)
    job = one(objects, "Job", "tb-taskbeat-migrate")
    hook = job["metadata"]["annotations"]
    assert hook["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert "before-hook-creation" in hook["helm.sh/hook-delete-policy"]
    assert container(job)["command"] == ["python", "manage.py", "migrate", "--noinput"]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    # On a first install the hook runs before the release's own ConfigMap and
    # Secret exist, so it must use hook copies created before it (lower weight).
    for kind in ("ConfigMap", "Secret", "ServiceAccount"):
        copy = one(objects, kind, "tb-taskbeat-migrate")
        assert copy["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(copy["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(hook["helm.sh/hook-weight"])
    assert container(job)["envFrom"] == [{"configMapRef": {"name": "tb-taskbeat-migrate"}}]
    assert pod["serviceAccountName"] == "tb-taskbeat-migrate"
    assert (
        one(objects, "ConfigMap", "tb-taskbeat-migrate")["data"]
        == one(objects, "ConfigMap", "tb-taskbeat")["data"]
    )


def test_the_ingress_sends_ws_and_mcp_to_ws_and_the_rest_to_web():
    objects = render_profile(PROFILES["ingress-tls"])
    ingress = one(objects, "Ingress", "tb-taskbeat")
    assert ingress["spec"]["tls"] == [{"secretName": "taskbeat-tls", "hosts": ["taskbeat.example.com"]}]
    paths = {p["path"]: p["backend"]["service"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths == {
        "/ws/": {"name": "tb-taskbeat-ws", "port": {"name": "http"}},
        "/mcp": {"name": "tb-taskbeat-ws", "port": {"name": "http"}},
        "/": {"name": "tb-taskbeat-web", "port": {"name": "http"}},
    }
    # The metrics port is on the Services but never behind the Ingress.
    web = one(objects, "Service", "tb-taskbeat-web")
    assert {p["name"] for p in web["spec"]["ports"]} == {"http", "metrics"}
    config = one(objects, "ConfigMap", "tb-taskbeat")["data"]
    assert config["ALLOWED_HOSTS"] == "taskbeat.example.com"
    assert config["CSRF_TRUSTED_ORIGINS"] == "https://taskbeat.example.com"
    assert config["PUBLIC_BASE_URL"] == "https://taskbeat.example.com"


def test_an_existing_secret_is_mounted_as_files_named_after_the_settings():
    objects = render_profile(PROFILES["existing-secret"])
    assert find(objects, "Secret") == []  # neither the release's nor the hook's copy
    web = one(objects, "Deployment", "tb-taskbeat-web")
    volume = next(v for v in web["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets")
    assert volume["secret"]["secretName"] == "my-taskbeat"
    items = {item["key"]: item["path"] for item in volume["secret"]["items"]}
    assert items["django-secret"] == "SECRET_KEY"
    assert items["jwt.key"] == "JWT_PRIVATE_KEY"
    assert items["metrics-token"] == "METRICS_TOKEN"
    env = {e["name"]: e.get("value") for e in container(web)["env"]}
    assert env["SECRET_KEY_FILE"] == "/etc/taskbeat/secrets/SECRET_KEY"
    assert env["KAFKA_SASL_PASSWORD_FILE"] == "/etc/taskbeat/secrets/KAFKA_SASL_PASSWORD"
    job = one(objects, "Job", "tb-taskbeat-migrate")
    job_volume = next(v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets")
    assert job_volume["secret"]["secretName"] == "my-taskbeat"


def _settings_in_env_example() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z0-9_]+?)(?:_FILE)?=", text, flags=re.MULTILINE))


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_variable_the_chart_sets_is_a_real_setting(profile):
    known = _settings_in_env_example() | {"OTEL_SERVICE_NAME"}
    objects = render_profile(PROFILES[profile])
    names: set[str] = set()
    for config in find(objects, "ConfigMap"):
        if not config["metadata"]["name"].startswith("tb-taskbeat-dashboard"):
            names |= set(config["data"])
    for deployment in find(objects, "Deployment") + find(objects, "Job"):
        names |= {e["name"].removesuffix("_FILE") for e in container(deployment)["env"]}
    assert names - known == set()


def test_keda_scales_the_worker_on_backlog_over_concurrency_and_the_bridge_on_the_outbox():
    objects = render_profile(PROFILES["keda"])
    worker = one(objects, "ScaledObject", "tb-taskbeat-worker")
    trigger = worker["spec"]["triggers"][0]
    assert trigger["type"] == "postgresql"
    assert "/ 4)" in trigger["metadata"]["query"]  # worker.concurrency
    assert "replicas" not in one(objects, "Deployment", "tb-taskbeat-worker")["spec"]
    bridge = one(objects, "ScaledObject", "tb-taskbeat-bridge")
    assert "published_at IS NULL" in bridge["spec"]["triggers"][0]["metadata"]["query"]
    auth = one(objects, "TriggerAuthentication", "tb-taskbeat-postgresql")
    assert auth["spec"]["secretTargetRef"] == [
        {"parameter": "connection", "name": "tb-taskbeat", "key": "DATABASE_URL"}
    ]
    assert find(objects, "HorizontalPodAutoscaler") == []


def test_network_policies_deny_by_default_and_open_only_what_is_needed():
    objects = render(deep_merge(SECRETS, {"kafka": {"bootstrapServers": "kafka:9092"}}))
    deny = one(objects, "NetworkPolicy", "tb-taskbeat-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    egress = one(objects, "NetworkPolicy", "tb-taskbeat-egress")["spec"]["egress"]
    ports = {(p["port"], p["protocol"]) for rule in egress for p in rule["ports"]}
    assert ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP"), (6379, "TCP"), (9092, "TCP"), (443, "TCP")}
    assert find(render_profile(PROFILES["no-networkpolicy"]), "NetworkPolicy") == []


def test_monitoring_objects_carry_the_tested_rule_files_and_dashboards():
    objects = render_profile(PROFILES["monitoring"])
    rule = one(objects, "PrometheusRule", "tb-taskbeat")
    files = [
        yaml.safe_load(p.read_text()) for p in sorted((CHART / "files" / "prometheus").glob("*.rules.yaml"))
    ]
    assert rule["spec"]["groups"] == [group for f in files for group in f["groups"]]
    dashboards = [obj for obj in find(objects, "ConfigMap") if "dashboard" in obj["metadata"]["name"]]
    assert len(dashboards) == len(list((CHART / "files" / "dashboards").glob("*.json")))
    for dashboard in dashboards:
        assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
        (body,) = dashboard["data"].values()
        assert json.loads(body)["panels"]


def test_beat_runs_twice_when_asked():
    objects = render_profile(PROFILES["digest"])
    assert one(objects, "Deployment", "tb-beat")["spec"]["replicas"] == 2
    image = container(one(objects, "Deployment", "tb-web"))["image"]
    assert image == "registry.example.com/team/taskbeat@sha256:" + "0123456789abcdef" * 4
    assert find(objects, "ServiceAccount", "tb") == []
    assert (
        one(objects, "Deployment", "tb-web")["spec"]["template"]["spec"]["serviceAccountName"]
        == "taskbeat-sa"
    )


def _leaf_paths(node: Any, schema: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key of values.yaml down to the schema's leaves (free-form Kubernetes objects are one row)."""
    if isinstance(node, dict) and node and "properties" in schema:
        paths: list[str] = []
        for key, value in node.items():
            paths += _leaf_paths(value, schema["properties"][key], f"{prefix}.{key}" if prefix else key)
        return paths
    return [prefix]


def test_the_chart_readme_documents_every_value():
    result = subprocess.run(
        [sys.executable, "scripts/chart_values_doc.py", "--check"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    readme = (CHART / "README.md").read_text()
    missing = [path for path in _leaf_paths(DEFAULTS, SCHEMA) if f"| `{path}` |" not in readme]
    assert missing == []
    undescribed = [line for line in readme.splitlines() if line.startswith("| `") and line.endswith("|  |")]
    assert undescribed == []


@pytest.fixture(scope="module")
def checkov_bin() -> Path:
    path = BASE_DIR / ".venv-checkov" / "bin" / "checkov"
    if not path.exists():
        subprocess.run(["bash", "scripts/checkov_venv.sh"], cwd=BASE_DIR, check=True, timeout=1200)
    return path


def test_checkov_finds_nothing_in_any_profile(tmp_path, checkov_bin):
    for name, path in PROFILES.items():
        out = tmp_path / name
        out.mkdir()
        for i, obj in enumerate(render_profile(path)):
            (out / f"{i:03d}-{obj['kind']}-{obj['metadata']['name']}.yaml").write_text(yaml.safe_dump(obj))
    result = subprocess.run(
        [str(checkov_bin), "-d", str(tmp_path), "--framework", "kubernetes", "-o", "json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for r in reports
        for check in r.get("results", {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 100


def test_behind_pgbouncer_the_bridge_and_the_migration_connect_directly():
    objects = render_profile(PROFILES["pgbouncer"])
    assert one(objects, "ConfigMap", "tb-taskbeat")["data"]["DATABASE_PGBOUNCER"] == "true"

    def database_key(obj: dict[str, Any]) -> str:
        volume = next(v for v in obj["spec"]["template"]["spec"]["volumes"] if v["name"] == "secrets")
        return next(i["key"] for i in volume["secret"]["items"] if i["path"] == "DATABASE_URL")

    assert database_key(one(objects, "Deployment", "tb-taskbeat-web")) == "DATABASE_URL"
    for obj in (one(objects, "Deployment", "tb-taskbeat-bridge"), one(objects, "Job", "tb-taskbeat-migrate")):
        assert database_key(obj) == "DIRECT_DATABASE_URL"
        env = {e["name"]: e.get("value") for e in container(obj)["env"]}
        assert env["DATABASE_PGBOUNCER"] == "false"
    assert "DIRECT_DATABASE_URL" in one(objects, "Secret", "tb-taskbeat")["data"]
    egress = one(objects, "NetworkPolicy", "tb-taskbeat-egress")["spec"]["egress"]
    assert {p["port"] for rule in egress for p in rule["ports"]} >= {6432, 5432}


def test_strimzi_topics_match_the_bridges_topic_specs():
    from todo_project.events.bridge import TOPIC_SPECS

    objects = render_profile(PROFILES["kafka-strimzi"])
    topics = {t["spec"]["topicName"]: t["spec"] for t in find(objects, "KafkaTopic")}
    assert topics == {
        f"prod.{name}": {
            "topicName": f"prod.{name}",
            "partitions": partitions,
            "replicas": 3,
            "config": {"retention.ms": retention},
        }
        for name, (partitions, retention) in TOPIC_SPECS.items()
    }


def test_extra_mcp_origins_reach_the_config_only_when_set():
    default = one(render(SECRETS), "ConfigMap", "tb-taskbeat")["data"]
    assert "MCP_ALLOWED_ORIGINS" not in default
    origins = ["https://assistant.example.org", "http://localhost:5173"]
    values = deep_merge(SECRETS, {"config": {"mcpAllowedOrigins": origins}})
    config = one(render(values), "ConfigMap", "tb-taskbeat")["data"]
    assert config["MCP_ALLOWED_ORIGINS"] == ",".join(origins)


def test_bridge_replicas_and_batch_size_reach_the_deployment_and_the_config():
    objects = render(
        deep_merge(
            SECRETS,
            {"kafka": {"bootstrapServers": "kafka:9092"}, "bridge": {"replicas": 4, "batchSize": 20000}},
        )
    )
    assert one(objects, "Deployment", "tb-taskbeat-bridge")["spec"]["replicas"] == 4
    assert one(objects, "ConfigMap", "tb-taskbeat")["data"]["KAFKA_BRIDGE_BATCH_SIZE"] == "20000"
    defaults = render(deep_merge(SECRETS, {"kafka": {"bootstrapServers": "kafka:9092"}}))
    assert one(defaults, "ConfigMap", "tb-taskbeat")["data"]["KAFKA_BRIDGE_BATCH_SIZE"] == "5000"
