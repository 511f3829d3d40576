"""The Helm chart, rendered offline: lint, Kubernetes schemas, and what operators rely on
(probes, limits, non-root read-only pods, one autoscaler per workload, only the gateway
exposed, partitions enough for the consumers, values in step with the code)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject
from cloudcoil.models.prometheus_operator.v1 import ServiceMonitor
from pydantic import BaseModel

from customs_shared.events.catalog import EVENT_TYPES, TOPICS
from customs_shared.migrate import main as migrate_main
from customs_shared.services import DATABASE_SERVICES, DOMAIN_SERVICES, GATEWAY, SERVICES
from tests.support.manifests import (
    CHART,
    KUBE_VERSION,
    PRODUCTION_VALUES,
    Manifest,
    RenderError,
    by_name,
    chart_values,
    load_all,
    of_kind,
    render,
    run_helm,
)

# Kinds whose schemas Kubernetes does not ship. KEDA's and the Prometheus Operator's are
# checked against models generated from their published CRDs (cloudcoil-models-keda 2.16,
# cloudcoil-models-prometheus-operator 0.80, pinned in the dev dependencies); Strimzi's
# KafkaTopic against the validators kubernetes-models compiles from Strimzi's CRDs (an npm
# package, tests/deploy/strimzi, installed by `make setup-node`).
CRD_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("keda.sh/v1alpha1", "ScaledObject"): ScaledObject,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ServiceMonitor,
}
CUSTOM_KINDS = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
}


@cache
def _default() -> tuple[Manifest, ...]:
    return tuple(render())


@cache
def _production() -> tuple[Manifest, ...]:
    return tuple(render(PRODUCTION_VALUES))


@pytest.fixture(params=["default", "production"])
def manifests(request: pytest.FixtureRequest) -> list[Manifest]:
    return list(_default() if request.param == "default" else _production())


def _pod_spec(manifest: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = manifest["spec"]["template"]["spec"]
    return spec


def _workloads(manifests: list[Manifest]) -> list[Manifest]:
    return of_kind(manifests, "Deployment") + of_kind(manifests, "Job")


@pytest.mark.parametrize("values", [(), (PRODUCTION_VALUES,)], ids=["default", "production"])
def test_helm_lint_passes_strictly(values: tuple[Path, ...]) -> None:
    args = ["lint", str(CHART), "--strict", "--kube-version", KUBE_VERSION]
    for path in values:
        args += ["--values", str(path)]
    assert "0 chart(s) failed" in run_helm(*args)


def test_every_built_in_manifest_is_valid_against_the_kubernetes_schema(
    manifests: list[Manifest],
) -> None:
    checked = 0
    for manifest in manifests:
        if (manifest["apiVersion"], manifest["kind"]) in CUSTOM_KINDS:
            continue
        # The oldest Kubernetes the chart supports, and the newest the schemas know.
        for version in (KUBE_VERSION, kubernetes_validate.latest_version()):
            kubernetes_validate.validate(manifest, version, strict=True)
        checked += 1
    assert checked >= 50


def test_a_wrong_field_is_caught_by_the_validation() -> None:
    deployment = json.loads(json.dumps(of_kind(list(_default()), "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


def test_keda_and_prometheus_operator_resources_match_their_published_schemas(
    manifests: list[Manifest],
) -> None:
    checked = 0
    for manifest in manifests:
        model = CRD_MODELS.get((manifest["apiVersion"], manifest["kind"]))
        if model is not None:
            _validate_crd(model, manifest)
            checked += 1
    assert checked >= 4


def test_a_misspelt_custom_resource_field_is_caught() -> None:
    scaled = json.loads(json.dumps(of_kind(list(_default()), "ScaledObject")[0]))
    scaled["spec"]["maxReplicas"] = scaled["spec"].pop("maxReplicaCount")
    with pytest.raises(AssertionError, match="unknown fields"):
        _validate_crd(ScaledObject, scaled)


def _validate_crd(model: type[BaseModel], manifest: Manifest) -> None:
    """Types and required fields by the model; unknown fields (which the models ignore)
    by comparing what the model read with what was given."""
    read = model.model_validate(manifest).model_dump(by_alias=True, exclude_unset=True, mode="json")
    assert read == manifest, f"unknown fields in {manifest['kind']} {manifest['metadata']['name']}"


def test_custom_resources_have_the_fields_their_operators_require(
    manifests: list[Manifest],
) -> None:
    deployments = by_name(manifests, "Deployment")
    services = by_name(manifests, "Service")
    for manifest in manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        if key not in CUSTOM_KINDS:
            continue
        assert manifest["metadata"]["name"]
        spec = manifest["spec"]
        if manifest["kind"] == "ScaledObject":
            assert spec["scaleTargetRef"]["name"] in deployments
            assert 0 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
            assert spec["triggers"]
            for trigger in spec["triggers"]:
                assert trigger["type"] == "kafka"
                metadata = trigger["metadata"]
                assert set(metadata) >= {"bootstrapServers", "consumerGroup", "topic"}
                # KEDA reads trigger metadata as strings only.
                assert all(isinstance(value, str) for value in metadata.values())
                assert int(metadata["lagThreshold"]) > 0
        elif manifest["kind"] == "KafkaTopic":
            assert manifest["metadata"]["labels"]["strimzi.io/cluster"]
            assert spec["topicName"] == manifest["metadata"]["name"]
            for field in ("partitions", "replicas"):
                assert isinstance(spec[field], int)
                assert spec[field] >= 1
            assert spec["config"]["cleanup.policy"] in {"delete", "compact"}
        else:  # ServiceMonitor
            assert spec["endpoints"]
            labels = spec["selector"]["matchLabels"]
            selected = [
                s for s in services.values() if labels.items() <= s["metadata"]["labels"].items()
            ]
            assert len(selected) == len(services)
            ports = {p["name"] for s in selected for p in s["spec"]["ports"]}
            assert {e["port"] for e in spec["endpoints"]} <= ports


def test_every_workload_is_non_root_read_only_unprivileged_and_limited(
    manifests: list[Manifest],
) -> None:
    workloads = _workloads(manifests)
    assert len(workloads) == 9 + len(DATABASE_SERVICES)
    for workload in workloads:
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["allowPrivilegeEscalation"] is False
            assert security["capabilities"]["drop"] == ["ALL"]
            assert "add" not in security["capabilities"]
            assert security.get("privileged", False) is False
            limits = container["resources"]["limits"]
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= limits.keys() & requests.keys()
            # Python needs a writable /tmp; everything else stays read-only.
            assert "/tmp" in {m["mountPath"] for m in container["volumeMounts"]}  # noqa: S108


def test_every_deployment_has_probes_on_its_internal_port(manifests: list[Manifest]) -> None:
    for deployment in of_kind(manifests, "Deployment"):
        [container] = _pod_spec(deployment)["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert "internal" in ports
        probes = {
            kind: container[kind]["httpGet"]
            for kind in ("startupProbe", "livenessProbe", "readinessProbe")
        }
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["startupProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert {p["port"] for p in probes.values()} == {"internal"}


def test_each_workload_has_an_hpa_or_a_scaled_object_never_both(
    manifests: list[Manifest],
) -> None:
    hpas = {
        m["spec"]["scaleTargetRef"]["name"] for m in of_kind(manifests, "HorizontalPodAutoscaler")
    }
    scaled = {m["spec"]["scaleTargetRef"]["name"] for m in of_kind(manifests, "ScaledObject")}
    deployments = by_name(manifests, "Deployment")
    assert hpas | scaled == set(deployments)
    assert not hpas & scaled
    for name, deployment in deployments.items():
        role = deployment["metadata"]["labels"]["customs.io/role"]
        assert (name in hpas) == (role == "api"), name
        assert (name in scaled) == (role == "consumer"), name
        # The autoscaler owns the replica count; a fixed one would fight it on upgrade.
        assert "replicas" not in deployment["spec"]


def test_consumer_autoscaling_follows_the_groups_lag_on_the_topics_they_read(
    manifests: list[Manifest],
) -> None:
    for scaled in of_kind(manifests, "ScaledObject"):
        service = scaled["metadata"]["labels"]["app.kubernetes.io/component"]
        triggers = scaled["spec"]["triggers"]
        assert {t["metadata"]["consumerGroup"] for t in triggers} == {service}
        assert {t["metadata"]["topic"] for t in triggers} == _topics_consumed_by(service)


def test_the_role_setting_matches_the_workload(manifests: list[Manifest]) -> None:
    specs = {s.name: s for s in SERVICES}
    for deployment in of_kind(manifests, "Deployment"):
        labels = deployment["metadata"]["labels"]
        spec = specs[labels["app.kubernetes.io/component"]]
        [container] = _pod_spec(deployment)["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        if spec.api:
            assert env[f"{spec.prefix}ROLE"] == labels["customs.io/role"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["internal"] == spec.internal_port
        if labels["customs.io/role"] == "consumer":
            assert "http" not in ports
        else:
            assert ports["http"] == spec.port
        assert container["image"].rsplit(":", 1)[0].endswith(f"/{spec.name}")


def test_only_the_gateway_is_reachable_from_outside(manifests: list[Manifest]) -> None:
    for service in of_kind(manifests, "Service"):
        assert service["spec"]["type"] == "ClusterIP"
    for ingress in of_kind(manifests, "Ingress"):
        backends = {
            path["backend"]["service"]["name"]
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        }
        assert backends == {"customs-gateway"}
        assert ingress["spec"]["tls"]

    policies = of_kind(manifests, "NetworkPolicy")
    [deny] = [p for p in policies if p["metadata"]["name"].endswith("-default-deny")]
    assert deny["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny["spec"]
    assert deny["spec"]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/name": "customs",
        "app.kubernetes.io/instance": "customs",
    }
    gateway_pods = {"app.kubernetes.io/component": GATEWAY.name}
    release_pods = {"matchLabels": deny["spec"]["podSelector"]["matchLabels"]}
    for policy in policies:
        if policy is deny:
            continue
        selector = policy["spec"]["podSelector"]["matchLabels"]
        for rule in policy["spec"]["ingress"]:
            [port] = [p["port"] for p in rule["ports"]]
            peers = rule.get("from")
            if port == "internal":
                # Probes and metrics: Prometheus only.
                [peer] = peers
                assert set(peer) == {"namespaceSelector", "podSelector"}
                assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "prometheus"
            elif selector["app.kubernetes.io/component"] == GATEWAY.name:
                assert port == "http"
                # Open to the edge; when the edge is named, the services (JWKS) too.
                assert peers is None or release_pods in [p.get("podSelector") for p in peers]
            else:
                assert port == "http"
                [peer] = peers
                assert gateway_pods.items() <= peer["podSelector"]["matchLabels"].items()
                assert selector["customs.io/role"] != "consumer"


def test_services_reach_each_other_by_the_names_and_ports_the_chart_creates(
    manifests: list[Manifest],
) -> None:
    services = by_name(manifests, "Service")
    config = by_name(manifests, "ConfigMap")
    upstreams = json.loads(config["customs-gateway"]["data"]["GATEWAY_UPSTREAMS"])
    assert set(upstreams) == {s.api for s in DOMAIN_SERVICES}
    for url in [*upstreams.values(), config["customs-routing-svc"]["data"]["ROUTING_JWKS_URL"]]:
        host, port = url.removeprefix("http://").split("/")[0].split(":")
        assert {"name": "http", "port": int(port)}.items() <= _port(services[host], "http").items()


def _port(service: Manifest, name: str) -> dict[str, Any]:
    [port] = [p for p in service["spec"]["ports"] if p["name"] == name]
    return dict(port)


def test_migrations_run_as_a_hook_job_per_database_with_a_command_that_exists(
    manifests: list[Manifest],
) -> None:
    jobs = of_kind(manifests, "Job")
    assert len(jobs) == len(DATABASE_SERVICES)
    names = set()
    for job in jobs:
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
        [container] = _pod_spec(job)["containers"]
        command = container["command"]
        assert command[:3] == ["python", "-m", "customs_shared.migrate"]
        names.add(command[3])
        spec = next(s for s in DATABASE_SERVICES if s.name == command[3])
        [env] = [e for e in container["env"] if e["name"] == f"{spec.prefix}DATABASE_URL"]
        assert env["valueFrom"]["secretKeyRef"]["key"] == f"{spec.name}-database-url"
    assert names == {s.name for s in DATABASE_SERVICES}
    with pytest.raises(SystemExit):
        migrate_main(["no-such-service"])


def test_secrets_come_from_an_existing_secret_each_pod_reading_only_its_own_keys() -> None:
    manifests = list(_default())
    assert not of_kind(manifests, "Secret")
    for deployment in of_kind(manifests, "Deployment"):
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        [container] = _pod_spec(deployment)["containers"]
        refs = {
            e["valueFrom"]["secretKeyRef"]["name"]: e["valueFrom"]["secretKeyRef"]["key"]
            for e in container["env"]
            if "valueFrom" in e
        }
        keys = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}
        assert set(refs) == {"customs-secrets"}
        assert all(key.startswith(service) for key in keys), keys
        volumes = [v["secret"] for v in _pod_spec(deployment)["volumes"] if "secret" in v]
        mounted = {i["key"] for volume in volumes for i in volume["items"]}
        assert mounted == _SECRET_FILES.get(service, set())
        assert all(volume["secretName"] == "customs-secrets" for volume in volumes)


# The Secret's keys a service reads as files: private keys.
_SECRET_FILES = {
    GATEWAY.name: {"gateway-signing-key.pem", "gateway-clients.json"},
    "declaration-svc": {"declaration-svc-receipt-key.pem"},
}


def test_declaration_svc_signs_receipts_with_the_key_the_secret_mounts(
    manifests: list[Manifest],
) -> None:
    """Outside a local run the service does not create its receipt key: every workload
    (each may answer submissions or amendments) reads it from the Secret, where the
    settings point."""
    config = by_name(manifests, "ConfigMap")["customs-declaration-svc"]["data"]
    assert config["DECLARATION_GENERATE_RECEIPT_SIGNING_KEY"] == "false"
    key_file = Path(config["DECLARATION_RECEIPT_SIGNING_KEY_FILE"])
    workloads = [
        d
        for d in of_kind(manifests, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "declaration-svc"
    ]
    assert workloads
    for deployment in workloads:
        pod = _pod_spec(deployment)
        [container] = pod["containers"]
        [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == str(key_file.parent)]
        [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["items"] == [
            {"key": "declaration-svc-receipt-key.pem", "path": key_file.name}
        ]
    # A rotation keeps the retired public keys in the receipts' JWKS.
    rotated = render(values={"secrets": {"previousReceiptPublicKeysSecret": "old-receipt-keys"}})
    config = by_name(rotated, "ConfigMap")["customs-declaration-svc"]["data"]
    folder = config["DECLARATION_RECEIPT_PREVIOUS_PUBLIC_KEYS_DIR"]
    for deployment in of_kind(rotated, "Deployment"):
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] != "declaration-svc":
            continue
        pod = _pod_spec(deployment)
        [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == folder]
        [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == "old-receipt-keys"


def test_the_chart_can_make_the_secret_and_says_which_key_is_missing() -> None:
    data = {
        f"{s.name}-database-url": f"postgresql+asyncpg://u:p@db/{s.database}"
        for s in DATABASE_SERVICES
    }
    data |= {
        "gateway-signing-key.pem": "pem",
        "gateway-clients.json": "{}",
        "declaration-svc-cursor-secret": "x" * 32,
        "declaration-svc-receipt-key.pem": "receipt pem",
        "declaration-svc-webhook-secret-key": "w" * 32,
        "ipr-svc-webhook-secret-key": "i" * 32,
        "routing-svc-random-selection-seed": "s" * 32,
    }
    [secret] = of_kind(render(values={"secrets": {"existingSecret": "", "data": data}}), "Secret")
    assert secret["stringData"] == data
    # Made before the migration Jobs, which read the database URLs from it.
    assert secret["metadata"]["annotations"]["helm.sh/hook-weight"] == "-10"
    for key in (
        "declaration-svc-cursor-secret",
        "declaration-svc-receipt-key.pem",
        "declaration-svc-webhook-secret-key",
        "ipr-svc-webhook-secret-key",
        "routing-svc-random-selection-seed",
    ):
        missing = {k: v for k, v in data.items() if k != key}
        with pytest.raises(RenderError, match=rf"secrets\.data\.{re.escape(key)}"):
            render(values={"secrets": {"existingSecret": "", "data": missing}})


# Settings that are required outside the local environment and come from the Secret.
_SECRET_SETTINGS = {
    "declaration-svc": [
        ("DECLARATION_CURSOR_SECRET", "declaration-svc-cursor-secret"),
        ("DECLARATION_WEBHOOK_SECRET_KEY", "declaration-svc-webhook-secret-key"),
    ],
    "ipr-svc": [("IPR_WEBHOOK_SECRET_KEY", "ipr-svc-webhook-secret-key")],
    "routing-svc": [
        ("ROUTING_RANDOM_SELECTION_SEED", "routing-svc-random-selection-seed"),
    ],
}


def test_every_workload_of_a_service_gets_its_required_secret_settings(
    manifests: list[Manifest],
) -> None:
    seen = set()
    for deployment in of_kind(manifests, "Deployment"):
        service = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        if service not in _SECRET_SETTINGS:
            continue
        [container] = _pod_spec(deployment)["containers"]
        for name, key in _SECRET_SETTINGS[service]:
            [env] = [e for e in container["env"] if e["name"] == name]
            assert env["valueFrom"]["secretKeyRef"] == {"name": "customs-secrets", "key": key}
        seen.add(service)
    assert seen == set(_SECRET_SETTINGS)


def test_more_consumer_replicas_than_partitions_fails_rendering_with_a_clear_message() -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=("kafka.partitions=4",))
    message = str(refused.value)
    assert "may run 6 replicas, but its topics" in message
    assert "have 4 partitions" in message
    render(set_values=("kafka.partitions=4", *_max_replicas_everywhere(4)))


def _max_replicas_everywhere(count: int) -> tuple[str, ...]:
    return tuple(
        f"services.{s.name}.workloads.consumer.autoscaling.maxReplicas={count}"
        for s in DOMAIN_SERVICES
    )


_WORKLOAD = {
    "replicas": 1,
    "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    },
}
_KEDA = {"type": "keda", "minReplicas": 1, "maxReplicas": 6, "lagThreshold": 50}
_HPA = {"type": "hpa", "minReplicas": 1, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70}


def _workloads_of(service: str, workloads: dict[str, Any]) -> dict[str, Any]:
    return {"services": {service: {"workloads": workloads}}}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            _workloads_of("routing-svc", {"api": {**_WORKLOAD, "autoscaling": _KEDA}}),
            "scales on CPU",
        ),
        (
            _workloads_of("routing-svc", {"consumer": {**_WORKLOAD, "autoscaling": _HPA}}),
            "scales on consumer-group lag",
        ),
        (
            _workloads_of("ipr-svc", {"all": {**_WORKLOAD, "autoscaling": {"type": "none"}}}),
            "cannot run beside",
        ),
        (
            _workloads_of("gateway", {"consumer": {**_WORKLOAD, "autoscaling": _KEDA}}),
            "gateway consumes nothing",
        ),
        ({"kafka": {"partitions": 0}}, "minimum"),
    ],
    ids=["keda-on-api", "hpa-on-consumer", "all-beside-split", "gateway-consumer", "schema"],
)
def test_values_that_would_deploy_something_wrong_are_refused(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        render(values=values)


def test_one_workload_per_service_runs_everything_when_asked() -> None:
    all_in_one = {"api": None, "consumer": None, "all": {**_WORKLOAD, "autoscaling": _KEDA}}
    manifests = render(values=_workloads_of("ipr-svc", all_in_one))
    [deployment] = [
        d
        for d in of_kind(manifests, "Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "ipr-svc"
    ]
    assert deployment["metadata"]["labels"]["customs.io/role"] == "all"
    [container] = _pod_spec(deployment)["containers"]
    assert {"name": "IPR_ROLE", "value": "all"} in container["env"]
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(manifests, "ScaledObject")}
    assert "customs-ipr-svc" in scaled


STRIMZI_CHECK = Path(__file__).with_name("strimzi")


def strimzi_schema_errors(manifests: list[Manifest]) -> dict[str, list[str]]:
    """Each manifest's errors against Strimzi's published CRD schema, by name."""
    if not (STRIMZI_CHECK / "node_modules").is_dir():
        pytest.fail("the Strimzi schema check is not installed: run `make setup-node`")
    node = shutil.which("node")
    assert node is not None, "node is missing: run `make setup-node`"
    done = subprocess.run(
        [node, str(STRIMZI_CHECK / "check.mjs")],
        input=json.dumps(manifests),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {r["name"]: r["errors"] for r in json.loads(done.stdout)}


def test_kafka_topics_match_strimzis_published_crd_schema(manifests: list[Manifest]) -> None:
    topics = of_kind(manifests, "KafkaTopic")
    if not topics:  # the default values leave topics to the services' own creation
        topics = of_kind(list(_production()), "KafkaTopic")
    errors = strimzi_schema_errors(topics)
    assert set(errors) == {t["metadata"]["name"] for t in topics}
    assert {name: problems for name, problems in errors.items() if problems} == {}


def test_the_strimzi_schema_check_refuses_a_broken_topic() -> None:
    [topic] = of_kind(list(_production()), "KafkaTopic")[:1]
    broken = json.loads(json.dumps(topic))
    broken["spec"]["partitions"] = 0
    broken["spec"]["replicas"] = "three"
    [problems] = strimzi_schema_errors([broken]).values()
    assert any("partitions must be >= 1" in p for p in problems)
    assert any("replicas must be integer" in p for p in problems)


def test_strimzi_topics_are_the_event_catalogs_with_their_dead_letter_twins() -> None:
    topics = by_name(render(PRODUCTION_VALUES), "KafkaTopic")
    expected = {t.name for t in TOPICS} | {t.dlq for t in TOPICS}
    assert set(topics) == expected
    production = yaml.safe_load(PRODUCTION_VALUES.read_text())
    for name, topic in topics.items():
        assert topic["spec"]["partitions"] == production["kafka"]["partitions"]
        compacted = any(t.compacted and t.name == name for t in TOPICS)
        assert topic["spec"]["config"]["cleanup.policy"] == ("compact" if compacted else "delete")


def test_the_values_describe_the_services_as_the_code_declares_them() -> None:
    values = chart_values()
    assert set(values["services"]) == {s.name for s in SERVICES}
    for spec in SERVICES:
        entry = values["services"][spec.name]
        assert entry["package"] == spec.package
        assert entry["envPrefix"] == spec.prefix
        assert (entry["port"], entry["internalPort"]) == (spec.port, spec.internal_port)
        assert entry["database"] == (spec.database or "")
        assert entry["api"] == (spec.api or "")
        assert set(entry["consumes"]) == _topics_consumed_by(spec.name)
    assert values["kafka"]["topics"]["names"] == [t.name for t in TOPICS]
    assert values["kafka"]["topics"]["compacted"] == [t.name for t in TOPICS if t.compacted]


def test_the_values_schema_is_valid_and_accepts_both_values_files() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    defaults = chart_values()
    validator.validate(defaults)
    merged = _merge(defaults, yaml.safe_load(PRODUCTION_VALUES.read_text()))
    validator.validate(merged)
    wrong = _merge(defaults, {"services": {"gateway": {"workloads": {"worker": {}}}}})
    assert not validator.is_valid(wrong)


def test_rendered_output_has_no_duplicate_keys() -> None:
    with pytest.raises(yaml.YAMLError, match="duplicate"):
        load_all("a: 1\na: 2\n")


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _topics_consumed_by(service: str) -> set[str]:
    return {t.topic.name for t in EVENT_TYPES if service in t.consumers}


def test_retired_signing_keys_can_be_published_during_a_rotation() -> None:
    manifests = render(values={"secrets": {"previousPublicKeysSecret": "customs-retired-keys"}})
    gateway = by_name(manifests, "Deployment")["customs-gateway"]
    [container] = _pod_spec(gateway)["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["GATEWAY_PREVIOUS_PUBLIC_KEYS_DIR"] == mounts["gateway-previous-keys"]
    volumes = {v["name"]: v for v in _pod_spec(gateway)["volumes"]}
    assert volumes["gateway-previous-keys"]["secret"]["secretName"] == "customs-retired-keys"
    kubernetes_validate.validate(gateway, KUBE_VERSION, strict=True)
