"""A container of deploy/'s manifests, run by the engine as the kubelet would run it: the pod's
user, group and fsGroup, a read-only root, no capabilities, no privilege escalation, its memory
and CPU limits, the image's entrypoint replaced by ``command`` and its CMD by ``args``, each
volume mounted at its ``mountPath`` (ConfigMaps and Secrets as files from a host directory the
test fills, emptyDirs as tmpfs), env values and downward-API fields. Host networking: everything
listens on 127.0.0.1."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.deploy.manifests import one
from tests.image.engine import Engine
from tests.support.processes import http_ok, wait_until

Obj = dict[str, Any]

_names = itertools.count()


def pod_spec(objects: list[Obj], kind: str, name: str) -> Obj:
    spec: Obj = one(objects, kind, name)["spec"]["template"]["spec"]
    return spec


def run_args(
    pod: Obj,
    *,
    volumes: Mapping[str, Path],
    fields: Mapping[str, str],
    extra_env: Mapping[str, str] = {},
    replace_args: Mapping[str, str] = {},
) -> tuple[list[str], list[str]]:
    """(options of ``run``, arguments after the image) for the pod's only container.

    ``volumes``: host directory of each non-emptyDir volume, by volume name. ``fields``: the
    downward-API values by fieldPath. ``replace_args``: an argument's value to swap, by the
    option before it (addresses the test must choose)."""
    (container,) = pod["containers"]
    pod_security = pod.get("securityContext", {})
    security = {**pod_security, **container.get("securityContext", {})}
    options = ["--network", "host", "--user", f"{security['runAsUser']}:{security['runAsGroup']}"]
    if "fsGroup" in pod_security:
        options += ["--group-add", str(pod_security["fsGroup"])]
    if security.get("readOnlyRootFilesystem"):
        options.append("--read-only")
    if security.get("allowPrivilegeEscalation") is False:
        options += ["--security-opt", "no-new-privileges"]
    for capability in security.get("capabilities", {}).get("drop", []):
        options += ["--cap-drop", capability]
    limits = container.get("resources", {}).get("limits", {})
    if "memory" in limits:
        options += ["--memory", _memory(limits["memory"])]
    if "cpu" in limits:
        options += ["--cpus", _cpus(limits["cpu"])]

    kinds = {v["name"]: v for v in pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = kinds.get(mount["name"], {})
        if "emptyDir" in volume:
            options += ["--tmpfs", mount["mountPath"]]
            continue
        suffix = ":ro" if mount.get("readOnly") else ""
        options += ["--volume", f"{volumes[mount['name']]}:{mount['mountPath']}{suffix}"]

    for variable in container.get("env", []):
        if "value" in variable:
            value = variable["value"]
        else:
            value = fields[variable["valueFrom"]["fieldRef"]["fieldPath"]]
        options += ["--env", f"{variable['name']}={value}"]
    for name, value in extra_env.items():
        options += ["--env", f"{name}={value}"]

    command = list(container.get("command", []))
    arguments = list(container.get("args", []))
    if command:
        options += ["--entrypoint", command[0]]
        arguments = command[1:] + arguments
    for i, argument in enumerate(arguments[:-1]):
        if argument in replace_args:
            arguments[i + 1] = replace_args[argument]
    return options, arguments


def _memory(quantity: str) -> str:
    """A Kubernetes memory quantity in the engines' binary units (256Mi -> 256m)."""
    units = {"Ki": "k", "Mi": "m", "Gi": "g"}
    assert quantity[-2:] in units, f"memory limit {quantity!r}: use Ki, Mi or Gi"
    return quantity[:-2] + units[quantity[-2:]]


def _cpus(quantity: str) -> str:
    """A Kubernetes CPU quantity as a number of CPUs (500m -> 0.5)."""
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


class Container:
    """One detached container of the image; :func:`container` always removes it."""

    def __init__(self, engine: Engine, options: list[str], arguments: list[str]) -> None:
        self.engine = engine
        self.options = options
        self.arguments = arguments
        self.name = f"kgx-test-{os.getpid()}-{next(_names)}"

    def start(self) -> None:
        self.engine.run(
            "run",
            "--detach",
            "--name",
            self.name,
            *self.options,
            self.engine.image,
            *self.arguments,
        )

    def signal(self, name: str) -> None:
        self.engine.run("kill", "--signal", name, self.name)

    def wait(self, timeout: float = 60.0) -> int:
        """Its exit code, once it has exited."""
        return int(self.engine.run("wait", self.name, timeout=timeout).stdout.split()[0])

    def running(self) -> bool:
        state = self.engine.run("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def wait_ready(self, url: str, timeout: float = 60.0) -> None:
        """Until ``url`` answers 200; fails with the container's log if it exits first or the
        time runs out."""
        try:
            wait_until(lambda: http_ok(url) or not self.running(), timeout=timeout, what=url)
        except TimeoutError:
            pass
        assert http_ok(url), f"{url} not answering; container log:\n{self.logs()}"

    def logs(self) -> str:
        result = self.engine.run("logs", self.name, check=False)
        return result.stdout + result.stderr

    def remove(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.engine.run("rm", "--force", self.name, check=False)


@contextlib.contextmanager
def container(engine: Engine, options: list[str], arguments: list[str]) -> Iterator[Container]:
    started = Container(engine, options, arguments)
    try:
        started.start()
        yield started
    finally:
        started.remove()
