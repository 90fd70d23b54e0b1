"""Settings of the app-env processes (backend/core/config.py)."""

from __future__ import annotations

from backend.core.config import Settings


def test_a_token_is_read_from_the_file_its_variable_names(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`POWERDESK_ADMIN_TOKEN_FILE=/run/secrets/...`: secrets mounted as files, never on a command line."""
    mounted = tmp_path / "admin"
    mounted.write_text("admin-token-from-a-file-0123\n")
    for name in ("POWERDESK_ADMIN_TOKEN", "POWERDESK_ACTIONS_TOKEN", "POWERDESK_WORKER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POWERDESK_ADMIN_TOKEN_FILE", str(mounted))
    monkeypatch.setenv("POWERDESK_ACTIONS_TOKEN", "actions-token-0123456789")
    monkeypatch.setenv("POWERDESK_WORKER_TOKEN", "worker-key-0123456789")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.powerdesk_admin_token == "admin-token-from-a-file-0123"
