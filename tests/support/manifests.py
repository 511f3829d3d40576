"""Rendering the Helm chart and reading manifests, for the deployment tests."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "customs"
PRODUCTION_VALUES = CHART / "values-production.yaml"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) is what it is checked on
# by default; a Helm built from source has no cluster version of its own to assume.
KUBE_VERSION = "1.30.0"

Manifest = dict[str, Any]


def helm() -> str:
    """The Helm that ``make setup-helm`` provides."""
    local = ROOT / ".cache" / "bin" / "helm"
    found = str(local) if local.exists() else shutil.which("helm")
    if found is None:
        raise RuntimeError("helm not found: run `make setup-helm`")
    return found


class RenderError(Exception):
    """``helm template`` refused the values; the message is Helm's."""


def run_helm(*args: str) -> str:
    result = subprocess.run(
        [helm(), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return result.stdout


class _StrictLoader(yaml.SafeLoader):
    """Refuses a mapping with a key twice (the API server's strict decoding does too)."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    keys = [loader.construct_object(key) for key, _ in node.value]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {sorted(map(str, duplicates))}", node.start_mark
        )
    return yaml.SafeLoader.construct_mapping(loader, node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_all(text: str) -> list[Manifest]:
    return [doc for doc in yaml.load_all(text, Loader=_StrictLoader) if doc]


def render(
    *values_files: Path, set_values: tuple[str, ...] = (), values: dict[str, Any] | None = None
) -> list[Manifest]:
    """``helm template`` with the files, then ``values`` (merged by Helm, ``None`` deletes a
    key), then ``--set`` items."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as extra:
        yaml.safe_dump(values or {}, extra)
        extra.flush()
        args = ["template", "customs", str(CHART), "--kube-version", KUBE_VERSION]
        for path in (*values_files, Path(extra.name)):
            args += ["--values", str(path)]
        for item in set_values:
            args += ["--set", item]
        return load_all(run_helm(*args))


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def by_name(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in of_kind(manifests, kind)}


def chart_values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded
