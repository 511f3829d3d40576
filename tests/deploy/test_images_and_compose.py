"""The Dockerfiles (rule checks in the spirit of hadolint, which cannot be installed here)
and the compose file (against the Compose Specification's schema), both in step with the
list of services and their settings."""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import jsonschema
import pytest
import yaml

from customs_shared.notifications.settings import NotifyingServiceSettings
from customs_shared.services import DATABASE_SERVICES, GATEWAY, SERVICES, ServiceSpec
from customs_shared.settings import ServerSettings
from declaration_svc.settings import DeclarationSettings
from ipr_svc.settings import IprSettings
from routing_svc.settings import RoutingSettings
from tests.support.manifests import ROOT, of_kind, render

COMPOSE = ROOT / "deploy" / "compose"
# What only builds need; none of it may reach a final image.
BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|make|build-essential|uv|pip|git|curl|wget|apt-get)\b")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages of a Dockerfile: continuation lines joined, comments dropped, global ARG
    defaults substituted into FROM."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "a continuation line ends the file"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "ARG" and not stages and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], words[0])
            stages.append(Stage(base, words[2] if len(words) > 2 else None))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append((keyword, rest))
    return stages


def _dockerfile(spec: ServiceSpec) -> list[Stage]:
    return parse_dockerfile((ROOT / spec.name / "Dockerfile").read_text())


def _distribution(spec: ServiceSpec) -> str:
    text = (ROOT / spec.name / "pyproject.toml").read_text()
    match = re.search(r'^name = "([^"]+)"', text, re.MULTILINE)
    assert match
    return match.group(1)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_has_a_multi_stage_dockerfile_with_pinned_bases(spec: ServiceSpec) -> None:
    stages = _dockerfile(spec)
    assert len(stages) >= 2
    for stage in stages:
        tag = stage.base.partition(":")[2]
        assert tag, f"{stage.base}: pin a tag"
        assert tag != "latest"
    for stage in stages:
        for key, args in stage.instructions:
            assert key != "ADD", "COPY, not ADD"
            assert key != "MAINTAINER"
            if key == "RUN":
                assert "sudo " not in args
                assert not re.search(r"(^|&&|;)\s*cd ", args), "WORKDIR, not cd"
                if "pip install" in args:
                    assert "--no-cache-dir" in args
                if "apt-get install" in args:
                    assert "--no-install-recommends" in args
            if key == "WORKDIR":
                assert args.startswith("/")
            for copied in (f for f in args.split() if key == "COPY" and f.startswith("--from=")):
                source = copied.removeprefix("--from=")
                assert source in {s.name for s in stages} or ":" in source


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_the_dependency_layer_is_built_from_the_lock_before_the_code(spec: ServiceSpec) -> None:
    build = _dockerfile(spec)[0]
    keys = [(key, args) for key, args in build.instructions if key in {"COPY", "RUN"}]
    first_sync = next(i for i, (key, args) in enumerate(keys) if "uv sync" in args)
    before = [args for key, args in keys[:first_sync] if key == "COPY" and "--from" not in args]
    copied = {w for args in before for w in args.split()[:-1]}
    assert copied >= {"uv.lock", "pyproject.toml", f"{spec.name}/pyproject.toml"}
    assert all(path.endswith(("uv.lock", "pyproject.toml")) for path in copied)
    package = _distribution(spec)
    assert "--locked" in keys[first_sync][1]
    assert f"--package {package}" in keys[first_sync][1]
    assert "--no-install-workspace" in keys[first_sync][1]
    last_sync = [args for key, args in keys if "uv sync" in args][-1]
    assert "--no-editable" in last_sync
    assert "--no-dev" in last_sync


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_the_final_stage_runs_the_service_as_non_root_without_build_tools(
    spec: ServiceSpec,
) -> None:
    build, final = _dockerfile(spec)[0], _dockerfile(spec)[-1]
    assert final.base == build.base  # the venv's interpreter is the same Python
    [user] = final.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit()  # numeric, so runAsNonRoot can verify it
    assert int(uid) != 0
    assert final.instructions[-1][0] == "CMD"
    assert json.loads(final.all("CMD")[0]) == ["python", "-m", spec.package]
    for key, args in final.instructions:
        if key == "RUN":
            assert not BUILD_TOOLS.search(args), args
        if key == "COPY":
            assert args.split()[0] == f"--from={build.name}"
            assert "/uv" not in args
    env = " ".join(final.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # read-only root: nothing written at run time
    assert f"{spec.prefix}HOST=0.0.0.0" in env
    assert "UV_COMPILE_BYTECODE=1" in " ".join(build.all("ENV"))
    assert final.all("EXPOSE") == [f"{spec.port} {spec.internal_port}"]


def test_the_build_context_admits_what_the_dockerfiles_copy_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything is excluded unless admitted

    def admitted(path: str) -> bool:
        result = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.removeprefix("!").rstrip("/")
            if fnmatch.fnmatch(path, bare) or path.startswith(bare + "/"):
                result = negated
        return result

    for spec in SERVICES:
        for stage in _dockerfile(spec):
            for args in stage.all("COPY"):
                words = [w for w in args.split() if not w.startswith("--")]
                if "--from=" in args:
                    continue
                for source in words[:-1]:
                    assert admitted(source), source
    assert not admitted("deploy/local/clients.json")
    assert not admitted(".venv/bin/python")
    assert not admitted(".run/gateway/signing-key.pem")


def test_make_images_builds_every_service_folder() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "IMAGE_SERVICES := $(patsubst %/Dockerfile,%,$(wildcard */Dockerfile))" in makefile
    folders = {p.parent.name for p in ROOT.glob("*/Dockerfile")}
    assert folders == {s.name for s in SERVICES}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPOSE / "compose.yaml").read_text())
    return loaded


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    schema = json.loads((COMPOSE / "schema" / "compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    validator.validate(_compose())
    broken = _compose()
    broken["services"]["gateway"]["ports"] = "8000"
    assert not validator.is_valid(broken)


def test_compose_runs_every_service_from_its_dockerfile_and_publishes_the_gateway_alone() -> None:
    services = _compose()["services"]
    for spec in SERVICES:
        service = services[spec.name]
        assert service["build"]["dockerfile"] == f"{spec.name}/Dockerfile"
        assert service["image"] == f"customs/{spec.name}:dev"
        internal = f"http://127.0.0.1:{spec.internal_port}/readyz"
        assert internal in " ".join(service["healthcheck"]["test"])
    published = {name: s["ports"] for name, s in services.items() if "ports" in s}
    assert published == {GATEWAY.name: [f"{GATEWAY.port}:{GATEWAY.port}"]}


def test_compose_containers_are_non_root_read_only_and_unprivileged() -> None:
    services = _compose()["services"]
    ours = {n: s for n, s in services.items() if s["image"].startswith("customs/")}
    assert len(ours) == len(SERVICES) + len(DATABASE_SERVICES) + 1  # + migrations + topics
    for name, service in ours.items():
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert int(service["user"].split(":")[0]) != 0, name
        assert service["tmpfs"] == ["/tmp"], name  # noqa: S108


def test_compose_migrates_and_creates_topics_once_before_the_services_start() -> None:
    services = _compose()["services"]
    topics = services["topics"]
    assert topics["command"][:3] == ["python", "-m", "customs_shared.messaging.topics"]
    assert topics["restart"] == "no"
    for spec in DATABASE_SERVICES:
        migrate = services[f"{spec.name}-migrate"]
        assert migrate["command"] == ["python", "-m", "customs_shared.migrate", spec.name]
        assert migrate["restart"] == "no"
        assert migrate["image"] == services[spec.name]["image"]
        url = migrate["environment"][f"{spec.prefix}DATABASE_URL"]
        assert url == services[spec.name]["environment"][f"{spec.prefix}DATABASE_URL"]
        assert url.endswith(f"/{spec.database}")
        assert services[spec.name]["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "topics": {"condition": "service_completed_successfully"},
            f"{spec.name}-migrate": {"condition": "service_completed_successfully"},
        }
    init = (COMPOSE / "postgres-init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+);", init))
    assert created == {s.database for s in DATABASE_SERVICES}


def test_compose_kafka_is_the_official_image_in_kraft_mode_at_the_version_used_locally() -> None:
    kafka = _compose()["services"]["kafka"]
    pom = (ROOT / "deploy" / "local" / "kafka" / "pom.xml").read_text()
    version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    assert version
    assert kafka["image"] == f"apache/kafka:{version.group(1)}"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "ZOOKEEPER" not in " ".join(kafka["environment"])


def _settings_fields() -> dict[str, set[str]]:
    """Per settings prefix, the variable names the service reads."""
    fields: dict[str, set[str]] = {}
    for spec in SERVICES:
        module = importlib.import_module(f"{spec.package}.settings")
        [cls] = [
            c
            for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, ServerSettings) and c.spec is spec
        ]
        fields[spec.prefix] = {spec.prefix + name.upper() for name in cls.model_fields}
    return fields


def _check_names(environment: dict[str, Any], known: dict[str, set[str]]) -> int:
    checked = 0
    for name in environment:
        prefix = next((p for p in known if name.startswith(p)), None)
        if prefix is not None:
            assert name in known[prefix], f"{name} is no setting of the service"
            checked += 1
    return checked


def test_every_setting_compose_and_the_chart_give_is_one_the_service_reads() -> None:
    known = _settings_fields()
    checked = 0
    for service in _compose()["services"].values():
        checked += _check_names(service.get("environment", {}), known)
    for config in of_kind(render(), "ConfigMap"):
        checked += _check_names(config["data"], known)
    assert checked > 40
    with pytest.raises(AssertionError, match="no setting"):
        _check_names({"ROUTING_SCREENING_TIMEOUT": "1"}, known)


def test_compose_gives_routing_a_random_selection_seed_its_settings_accept() -> None:
    environment = _compose()["services"]["routing-svc"]["environment"]
    assert environment["ROUTING_ENVIRONMENT"] != "local"  # so the seed is required
    settings = RoutingSettings.model_validate(
        {
            "environment": environment["ROUTING_ENVIRONMENT"],
            "random_selection_seed": environment["ROUTING_RANDOM_SELECTION_SEED"],
        }
    )
    assert settings.random_selection_seed.get_secret_value().startswith("compose-demo-")


@pytest.mark.parametrize(
    ("service", "settings_class"),
    [("declaration-svc", DeclarationSettings), ("ipr-svc", IprSettings)],
)
def test_compose_gives_the_notifying_services_a_webhook_secret_key_they_accept(
    service: str, settings_class: type[NotifyingServiceSettings]
) -> None:
    environment = _compose()["services"][service]["environment"]
    prefix = next(s.prefix for s in SERVICES if s.name == service)
    assert environment[prefix + "ENVIRONMENT"] != "local"  # so the key is required
    given = ("ENVIRONMENT", "CURSOR_SECRET", "WEBHOOK_SECRET_KEY")
    settings = settings_class.model_validate(
        {name.lower(): environment[prefix + name] for name in given if prefix + name in environment}
    )
    assert settings.webhook_secret_key is not None
    assert settings.webhook_secret_key.get_secret_value().startswith("compose-demo-")


@pytest.mark.parametrize(
    ("service", "key_file", "generate"),
    [
        ("gateway", "GATEWAY_SIGNING_KEY_FILE", "GATEWAY_GENERATE_SIGNING_KEY"),
        (
            "declaration-svc",
            "DECLARATION_RECEIPT_SIGNING_KEY_FILE",
            "DECLARATION_GENERATE_RECEIPT_SIGNING_KEY",
        ),
    ],
)
def test_compose_keeps_each_generated_key_in_a_volume_the_image_prepares_for_its_user(
    service: str, key_file: str, generate: str
) -> None:
    """Outside a local run a service creates its key only when told to; compose tells it
    to, in a named volume (kept across restarts), which takes the owner of the folder the
    image made for the service's user: otherwise the read-only container cannot write it."""
    compose = _compose()
    environment = compose["services"][service]["environment"]
    assert environment[generate] == "true"
    folder = str(PurePosixPath(environment[key_file]).parent)
    mounts = dict(reversed(v.split(":")[:2]) for v in compose["services"][service]["volumes"])
    assert mounts[folder] in compose["volumes"]
    spec = next(s for s in SERVICES if s.name == service)
    final = _dockerfile(spec)[-1]
    [user] = final.all("USER")
    uid, gid = user.split(":")
    assert f"install -d -o {uid} -g {gid} -m 0700 {folder}" in " ".join(final.all("RUN"))


def test_the_dockerfile_parser_sees_continuations_and_args() -> None:
    stages = parse_dockerfile(
        "ARG BASE=python:3.12-slim\nFROM ${BASE} AS build\n"
        "RUN a \\\n    && b\nFROM ${BASE}\nUSER 1\n"
    )
    assert [s.base for s in stages] == ["python:3.12-slim", "python:3.12-slim"]
    assert stages[0].name == "build"
    assert stages[0].all("RUN") == ["a && b"]
    assert shlex.split(stages[1].all("USER")[0]) == ["1"]


def test_compose_file_paths_exist() -> None:
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE / source).resolve().exists(), source
        if "build" in service:
            context = (COMPOSE / service["build"]["context"]).resolve()
            assert context == ROOT
            assert (context / service["build"]["dockerfile"]).exists()
