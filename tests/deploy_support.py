"""Shared helpers for the deploy tests: render the chart with Helm's own engine.

No helm binary and no cluster here: the ``helm-python-sdk`` wheel runs Helm
v4's template engine and linter in-process.
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
CHART = BASE_DIR / "helm" / "taskbeat"
RULES_DIR = CHART / "files" / "prometheus"
DASHBOARDS_DIR = CHART / "files" / "dashboards"

# The oldest and newest Kubernetes versions the chart supports (Chart.yaml kubeVersion).
KUBE_VERSIONS = ["1.29.0", "1.37.0"]
RELEASE = "tb"
NAMESPACE = "taskbeat"

PROFILE_FILES = sorted((CHART / "ci").glob("*-values.yaml")) + [
    CHART / "values-minikube.yaml",
    CHART / "values-production.yaml",
]


def profile_name(path: Path) -> str:
    return path.name.removesuffix(".yaml").removesuffix("-values")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Helm's values merge: maps merge key by key, anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@functools.cache
def _chart() -> Any:
    import helm_python

    return helm_python.Chart.load(str(CHART))


def render(values: dict[str, Any] | None = None, *, is_upgrade: bool = False) -> list[dict[str, Any]]:
    """Every object the chart renders for ``values`` (on top of values.yaml)."""
    rendered = _chart().render(
        values or {}, name=RELEASE, namespace=NAMESPACE, is_install=not is_upgrade, is_upgrade=is_upgrade
    )
    objects: list[dict[str, Any]] = []
    for path, text in sorted(rendered.items()):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append(doc)
    return objects


def render_profile(path: Path) -> list[dict[str, Any]]:
    return render(load_yaml(path) or {})


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        obj for obj in objects if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def require_binary(name: str) -> str:
    """Path of a Debian-packaged tool, installed with apt-get when missing (CI runs as root)."""
    found = shutil.which(name)
    if found:
        return found
    apt = shutil.which("apt-get")
    package = {"promtool": "prometheus", "prometheus": "prometheus"}.get(name, name)
    if apt:
        subprocess.run([apt, "install", "-y", "-q", package], check=False, capture_output=True, timeout=600)
        found = shutil.which(name)
        if found:
            return found
        subprocess.run([apt, "update", "-q"], check=False, capture_output=True, timeout=600)
        subprocess.run([apt, "install", "-y", "-q", package], check=False, capture_output=True, timeout=600)
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{name} is not installed and apt-get could not install {package}")
