"""deploy/compose.yaml, deploy/nginx/powerdesk.conf and deploy/k8s/ checked offline (no Docker daemon
or cluster here): every image is built by a Dockerfile of deploy/docker/, every variable a service is
given is documented in .env.example, every probe and health check asks a health route the process
really serves on the port it listens on, the proxies route only to services that exist, the
conversation side runs one replica, and the Kubernetes objects validate against the Kubernetes API
schemas bundled with `kubernetes-validate` (strict: no unknown fields)."""

from __future__ import annotations

import re
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
#: the health route each process serves, by the module it runs (checked against the code below)
HEALTH = {
    "backend.main:create_app": "/health",
    "backend.notifications.worker": "/metrics",
    "connectors.action_server": "/health",
    "connectors.rasa_server": "/",
    "connectors.gateway": "/webhooks/wechat/",
}
#: compose-only settings of third-party images, not PowerDesk's configuration
THIRD_PARTY = {"POSTGRES_USER", "POSTGRES_DB"}
SINGLE = {"rasa", "gateway", "actions"}  # compose services that must not scale out today
SCALED = {"backend", "notifier"}


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


# the health routes are real


def test_the_health_routes_are_the_processes_own(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert '@app.get("/health")' in (ROOT / "connectors" / "action_server.py").read_text(encoding="utf-8")
    gateway = (ROOT / "connectors" / "gateway.py").read_text(encoding="utf-8")
    assert 'url_prefix=f"/webhooks/{channel}"' in gateway and '("wechat",' in gateway
    assert '@hook.get("/")' in (ROOT / "connectors" / "_ack.py").read_text(encoding="utf-8")
    # Rasa's own root route answers without the API token (the launcher lets "/" and "/metrics" through;
    # tests/connectors/test_rasa_server.py checks both on the running server)
    assert 'OPEN = ("/", "/metrics")' in (ROOT / "connectors" / "rasa_server.py").read_text(encoding="utf-8")
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


def test_what_scales_and_what_does_not() -> None:
    services = compose()["services"]
    for name in SCALED:
        assert services[name]["deploy"]["replicas"] >= 2, name
    lines = COMPOSE.read_text(encoding="utf-8").splitlines()
    for name in SINGLE:
        assert services[name]["deploy"]["replicas"] == 1, name
    commented = [line for line in lines if re.search(r"replicas: 1\s+#\s*\S", line)]
    assert len(commented) == len(SINGLE), "each single replica says why"


def test_redis_writes_every_command_to_disk_and_only_the_proxy_is_published() -> None:
    services = compose()["services"]
    command = services["redis"]["command"]
    assert option(command, "--appendonly") == "yes" and option(command, "--appendfsync") == "always"
    assert [name for name, service in services.items() if "ports" in service] == ["proxy"]
    # the gateway and the rasa server share the volume of the journal they both open
    volume = "conversation-var:/var/lib/powerdesk"
    assert volume in services["gateway"]["volumes"] and volume in services["rasa"]["volumes"]


def test_the_proxy_routes_to_services_and_ports_that_exist() -> None:
    services = compose()["services"]
    text = NGINX.read_text(encoding="utf-8")
    upstreams = dict(re.findall(r"upstream (\w+) \{ server (\w+:\d+);", text))
    assert set(upstreams) == {"gateway", "backend"}
    for target in upstreams.values():
        name, port = target.split(":")
        assert option(services[name]["command"], "--port") == port
    passes = set(re.findall(r"proxy_pass http://(\w+);", text))
    assert passes <= set(upstreams)
    for prefix in ("/webhooks/wechat/", "/webhooks/wecom/", "/webhooks/sms/"):
        assert re.search(rf"location {re.escape(prefix)}\s+\{{ proxy_pass http://gateway;", text), prefix
    locations = re.findall(r"location (\S+)", text)
    assert not [loc for loc in locations if "metrics" in loc or loc.startswith("/webhooks/rest")]
    assert "5005" not in text and "5055" not in text  # Rasa's API and the action server are never published


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
        for probe in ("readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            assert (get["path"], get["port"]) == (HEALTH[module_of(command)], listening), (container["name"], probe)
    assert deployments == 5  # backend, notifier, actions, and rasa with the gateway in one pod


def test_replicas_the_conversation_side_is_single_and_says_why() -> None:
    deployments = [doc for _, doc in k8s_documents() if doc["kind"] == "Deployment"]
    replicas = {doc["metadata"]["name"]: doc["spec"]["replicas"] for doc in deployments}
    assert replicas == {"backend": 2, "notifier": 2, "actions": 1, "conversation": 1}
    for manifest in ("conversation.yaml", "actions.yaml"):
        text = (K8S / manifest).read_text(encoding="utf-8")
        assert re.search(r"replicas: 1\s+#\s*single replica: .*SQLite", text), manifest
        assert "type: Recreate" in text  # never two pods on the one volume during a rollout
    (conversation,) = [doc for doc in deployments if doc["metadata"]["name"] == "conversation"]
    pod = conversation["spec"]["template"]["spec"]
    assert {c["name"] for c in pod["containers"]} == {"rasa", "gateway"}  # one journal, one volume


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
