"""`make run`: the whole stack on this machine, in the foreground, until Ctrl-C or SIGTERM.

Settings come from the environment, then `.env`; what is still missing gets a local default:
SQLite under var/, a private redis-server, the simulator standing in for WeChat, WeCom and the
SMS gateway, and random secrets kept in var/dev-secrets.env.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from dotenv import dotenv_values

from scripts.stack import ROOT, Stack, StartupError, base_env, dev_secrets, rasa_replicas


def load_settings() -> dict[str, str]:
    settings = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v}
    settings.update({k: v for k, v in os.environ.items() if v})
    var = Path(settings.setdefault("POWERDESK_VAR_DIR", str(ROOT / "var")))
    secrets_file = var / "dev-secrets.env"
    var.mkdir(parents=True, exist_ok=True)
    secrets_file.touch()
    secrets_file.chmod(0o600)
    kept = dotenv_values(secrets_file)
    missing = {k: v for k, v in dev_secrets().items() if not kept.get(k)}  # secrets added since it was written
    if missing:
        with secrets_file.open("a") as out:
            out.write("".join(f"{k}={v}\n" for k, v in missing.items()))
    for key, value in dotenv_values(secrets_file).items():
        if value:
            settings.setdefault(key, value)
    settings.setdefault("DATABASE_URL", f"sqlite:///{var / 'powerdesk.db'}")
    return settings


def main() -> int:
    settings = load_settings()
    try:
        rasa_replicas(settings.get("RASA_REPLICAS"))  # refused before anything starts
    except StartupError as exc:
        print(f"startup failed: {exc}", file=sys.stderr)
        return 1
    defaults = {"BACKEND": 8000, "ACTIONS": 5055, "RASA": 5005, "GATEWAY": 5006, "SIMULATOR": 8900}
    ports = {name: int(settings.get(f"{name}_PORT", default)) for name, default in defaults.items()}
    simulator_url = f"http://127.0.0.1:{ports['SIMULATOR']}"
    settings.setdefault("BACKEND_URL", f"http://127.0.0.1:{ports['BACKEND']}")
    settings.setdefault("ACTION_ENDPOINT_URL", f"http://127.0.0.1:{ports['ACTIONS']}/webhook")
    settings.setdefault("RASA_URL", f"http://127.0.0.1:{ports['RASA']}")
    settings.setdefault("GATEWAY_URL", f"http://127.0.0.1:{ports['GATEWAY']}")
    settings.setdefault("WECHAT_API_BASE_URL", simulator_url)
    settings.setdefault("WECOM_API_BASE_URL", simulator_url)
    settings.setdefault("SMS_PROVIDER", "aliyun")
    settings.setdefault("SMS_API_BASE_URL", simulator_url)

    var = Path(settings["POWERDESK_VAR_DIR"])
    # Rasa's REST channel, on loopback and behind RASA_API_TOKEN, for talking to the assistant by curl.
    stack = Stack(base_env(settings), var / "log", rest_channel=True)

    def stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    # Both explicitly: a shell that starts us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        if "REDIS_URL" not in settings:
            stack.env["REDIS_URL"] = stack.start_redis(int(settings.get("REDIS_PORT", 6390)), var / "redis")
            print(f"redis      {stack.env['REDIS_URL'].split('@')[-1]} (private, append-only file, password required)")
        stack.start_all({name.lower(): port for name, port in ports.items()})
        print_banner(ports, stack.rasa_ports, stack.env, var)
        while all(p.alive() for p in stack.processes):
            time.sleep(1)
        dead = next(p for p in stack.processes if not p.alive())
        print(f"\n{dead.name} stopped unexpectedly; its last lines:\n{dead.tail()}", file=sys.stderr)
        return 1
    except StartupError as exc:
        print(f"\nstartup failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping…")
        return 0
    finally:
        stack.stop()


def print_banner(ports: dict[str, int], rasa_ports: list[int], env: dict[str, str], var: Path) -> None:
    def url(name: str) -> str:
        return f"http://127.0.0.1:{ports[name]}"

    lines = [
        "",
        f"PowerDesk is running (logs in {var / 'log'}/, Ctrl-C stops everything):",
        f"  backend     {url('BACKEND')}   API docs /docs, health /health",
        f"  actions     {url('ACTIONS')}   health /health",
        *(f"  rasa        http://127.0.0.1:{port}   status /status" for port in rasa_ports),
        f"              (Rasa's API token: RASA_API_TOKEN in {var}/dev-secrets.env)",
        f"  gateway     {url('GATEWAY')}   the platforms' callbacks (/webhooks/wechat/webhook, …/wecom/…, …/sms/…)",
        f"  database    {env['DATABASE_URL'].split('@')[-1]}",
        f"  redis       {env['REDIS_URL'].split('@')[-1]}",
        f"  simulator   {url('SIMULATOR')}   <- open it to chat as a customer or a grid worker",
        f"  console     {url('BACKEND')}/console/   <- agents answer customers who ask for a person",
        "              (demo sign-in agent01 / demo-agent-01; others in the README)",
        "",
        "Or talk to the assistant through Rasa's REST channel (local use only, behind the API token):",
        f'  curl -s {url("RASA")}/webhooks/rest/webhook -H "Authorization: Bearer $RASA_API_TOKEN" \\',
        """       -d '{"sender": "o_demo_resident_01", "message": "我家停电了"}'""",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
