"""Settings and secrets of the bot-env processes (platforms/settings.py, platforms/wechat/settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from platforms.settings import secret, setting
from platforms.wechat.settings import WeChatSettings

WECHAT = {"WECHAT_APP_ID": "wx0123", "WECHAT_APP_SECRET": "s" * 32, "WECHAT_TOKEN": "tok",
          "POWERDESK_ACTIONS_TOKEN": "actions-token-0123456789"}  # fmt: skip


def test_row7_wechat_refuses_to_start_without_an_aes_key_unless_plaintext_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A plaintext signature does not cover the body: without WECHAT_AES_KEY the channel and the
    gateway refuse to start, unless WECHAT_ALLOW_PLAINTEXT says plaintext is meant."""
    for name, value in WECHAT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WECHAT_AES_KEY", raising=False)
    monkeypatch.delenv("WECHAT_ALLOW_PLAINTEXT", raising=False)
    with pytest.raises(ValueError, match="WECHAT_AES_KEY"):
        WeChatSettings.load()
    monkeypatch.setenv("WECHAT_ALLOW_PLAINTEXT", "1")
    assert WeChatSettings.load().aes_key == ""


def test_a_secret_is_read_from_the_environment_or_its_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PD_TEST_SECRET", raising=False)
    monkeypatch.delenv("PD_TEST_SECRET_FILE", raising=False)
    assert secret("PD_TEST_SECRET") == ""
    mounted = tmp_path / "secret"
    mounted.write_text("from-a-file-0123456789\n")
    monkeypatch.setenv("PD_TEST_SECRET_FILE", str(mounted))
    assert secret("PD_TEST_SECRET") == "from-a-file-0123456789"
    monkeypatch.setenv("PD_TEST_SECRET", "from-the-environment")
    assert secret("PD_TEST_SECRET") == "from-the-environment"
    assert setting({"pd_test_secret": "from-credentials"}, "PD_TEST_SECRET") == "from-credentials"
