"""Run the chart's rendered containers as local processes ("pods" without a cluster).

Each container gets what Kubernetes would give it and nothing else: the
image's ENV (read from deploy/Dockerfile's runtime stage), its envFrom
ConfigMap and env, its volumes (an emptyDir for /tmp, the Secret's items as
files) at local directories, the image's WORKDIR (the repository), and its
command. Every pod has its own network namespace in Kubernetes, so the
container ports are mapped to free local ports, in the command, the env and
the probes alike. Wrong env names, commands, ports and probe paths fail here.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deploy_support import BASE_DIR, find, one

DOCKERFILE = BASE_DIR / "deploy" / "Dockerfile"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def image_env(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """ENV of the final stage, as `docker build` would set it."""
    text = dockerfile.read_text().replace("\\\n", " ")
    stages = re.split(r"^FROM\s", text, flags=re.MULTILINE)
    env: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"([A-Z_][A-Z0-9_]*)=(\S+)", line):
                env[key] = value
    return env


def image_workdir(dockerfile: Path = DOCKERFILE) -> str:
    stages = re.split(r"^FROM\s", dockerfile.read_text(), flags=re.MULTILINE)
    return re.findall(r"^WORKDIR\s+(\S+)", stages[-1], flags=re.MULTILINE)[-1]


@dataclass
class Pod:
    name: str
    workload: dict[str, Any]
    objects: list[dict[str, Any]]
    root: Path
    ports: dict[str, int] = field(default_factory=dict)  # container port name -> local port
    by_number: dict[int, int] = field(default_factory=dict)  # container port -> local port
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.pod_spec = self.workload["spec"]["template"]["spec"]
        (self.container,) = self.pod_spec["containers"]
        for port in self.container.get("ports", []):
            local = free_port()
            self.ports[port["name"]] = local
            self.by_number[port["containerPort"]] = local
        self.log_path = self.root / f"{self.name}.log"

    # --- what the kubelet would set up ------------------------------------------
    def _mounts(self) -> dict[str, Path]:
        volumes = {v["name"]: v for v in self.pod_spec.get("volumes", [])}
        mounts: dict[str, Path] = {}
        for mount in self.container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            local = self.root / self.name / mount["name"]
            local.mkdir(parents=True, exist_ok=True)
            if "secret" in volume:
                secret = one(self.objects, "Secret", volume["secret"]["secretName"])
                for item in volume["secret"]["items"]:
                    (local / item["path"]).write_bytes(base64.b64decode(secret["data"][item["key"]]))
            else:
                assert "emptyDir" in volume, (
                    f"{self.name}: volume {mount['name']} is neither a Secret nor an emptyDir"
                )
            mounts[mount["mountPath"]] = local
        return mounts

    def _localise(self, value: str, mounts: dict[str, Path]) -> str:
        for path, local in sorted(mounts.items(), key=lambda item: -len(item[0])):
            if value == path or value.startswith(path + "/"):
                value = str(local) + value[len(path) :]
                break
        value = value.replace("0.0.0.0", "127.0.0.1")  # noqa: S104 - rewriting the manifest's bind address
        for number, port in self.by_number.items():
            value = re.sub(rf"(^|:){number}$", rf"\g<1>{port}", value)
        return value

    def environment(self) -> dict[str, str]:
        mounts = self._mounts()
        env: dict[str, str] = {}
        for key, value in image_env().items():
            env[key] = value
        for source in self.container.get("envFrom", []):
            config = one(self.objects, "ConfigMap", source["configMapRef"]["name"])
            env.update(config["data"])
        for item in self.container.get("env", []):
            assert "value" in item, f"{self.name}: env {item['name']} has no plain value"
            env[item["name"]] = item["value"]
        env = {key: self._localise(value, mounts) for key, value in env.items()}
        # The image's virtualenv is this checkout's .venv; its PATH goes first.
        env["PATH"] = env.get("PATH", "$PATH").replace("/opt/venv/bin", str(Path(sys.executable).parent))
        env["PATH"] = env["PATH"].replace("$PATH", os.environ.get("PATH", "/usr/bin:/bin"))
        env["HOME"] = str(mounts.get("/tmp", self.root))  # noqa: S108 - the pod's emptyDir
        return env

    def command(self, env: dict[str, str]) -> list[str]:
        argv = [self._localise(arg, {}) for arg in self.container["command"] + self.container.get("args", [])]
        resolved = shutil.which(argv[0], path=env["PATH"])
        assert resolved, f"{self.name}: {argv[0]} is not on the image's PATH"
        return [resolved, *argv[1:]]

    # --- running ----------------------------------------------------------------------
    def start(self) -> None:
        env = self.environment()
        assert image_workdir() == "/app"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command(env), cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def log(self, tail: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:] if self.log_path.exists() else ""

    def probe(self, kind: str) -> bool:
        """One HTTP probe as the kubelet sends it: to the pod's address, Host = that address."""
        spec = self.container[kind]["httpGet"]
        port = spec["port"]
        local = self.ports[port] if isinstance(port, str) else self.by_number[port]
        request = urllib.request.Request(  # noqa: S310 - a local process
            f"http://127.0.0.1:{local}{spec['path']}", headers={"Host": f"10.0.0.7:{local}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return 200 <= response.status < 400
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 120) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            if self.probe("startupProbe") and self.probe("readinessProbe"):
                assert self.probe("livenessProbe")
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.name} not ready within {timeout} s:\n{self.log()}")

    def run_to_completion(self, timeout: float) -> int:
        self.start()
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM, then the pod's terminationGracePeriodSeconds, then SIGKILL (as the kubelet does)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(self.pod_spec.get("terminationGracePeriodSeconds", 30))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def service_port(objects: list[dict[str, Any]], pods: dict[str, Pod], service: str, port_name: str) -> int:
    """The local port a Service port reaches: its targetPort on the pod its selector picks."""
    svc = one(objects, "Service", service)
    port = next(p for p in svc["spec"]["ports"] if p["name"] == port_name)
    selector = svc["spec"]["selector"]
    (pod,) = [
        pod
        for pod in pods.values()
        if all(
            pod.workload["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in selector.items()
        )
    ]
    target = port["targetPort"]
    return pod.ports[target] if isinstance(target, str) else pod.by_number[target]


def workloads(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        obj["metadata"]["labels"]["app.kubernetes.io/component"]: obj
        for obj in find(objects, "Deployment") + find(objects, "Job")
    }
