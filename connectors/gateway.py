"""The webhook gateway: `python -m connectors.gateway [--host H] [--port P]` (bot env, default :5006).

WeChat and WeCom wait at most 5 s for a callback's answer and retry otherwise. Inside the rasa
server an acknowledgement shares two cores and one interpreter lock with the turns, so under load
its answer waits for theirs. This small process answers the platforms' callbacks on their own
(`/webhooks/wechat/webhook`, `/webhooks/wecom/webhook`): it verifies, decrypts, drops duplicates
and journals each message exactly as the channels do (connectors/_ack.py), then answers
`success`. The channels in the rasa server follow the journal (a shared SQLite file under
`POWERDESK_VAR_DIR`) and hold the conversations. A message acked here is durable: if the rasa
server is down, it is handled when it starts.

Settings are the channels' own (WECHAT_*, WECOM_*, see .env.example); no rasa import.
"""

from __future__ import annotations

import argparse
import logging
from functools import partial

from sanic import Sanic
from sanic.response import HTTPResponse

from connectors import log_masking
from connectors._ack import acknowledge, webhook_blueprint
from connectors._journal import Journal
from connectors.wechat.protocol import CallbackGate
from connectors.wechat.settings import WeChatSettings
from connectors.wecom.settings import WeComSettings

DEFAULT_PORT = 5006


def _receive(gate: CallbackGate, journal: Journal, channel: str, query: dict[str, str], body: bytes) -> HTTPResponse:
    return acknowledge(gate, journal, channel, query, body).http()


def create_app() -> Sanic:
    journal = Journal()
    app = Sanic("powerdesk_gateway")
    for channel, gate in (("wechat", WeChatSettings.load().gate()), ("wecom", WeComSettings.load().gate())):
        hook = webhook_blueprint(channel, gate, partial(_receive, gate, journal, channel))
        app.blueprint(hook, url_prefix=f"/webhooks/{channel}")

    @app.listener("after_server_stop")
    async def close(*_: object) -> None:
        journal.close()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="PowerDesk webhook gateway (WeChat, WeCom)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log_masking.install()
    create_app().run(host=args.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
