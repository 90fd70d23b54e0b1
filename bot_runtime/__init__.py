"""The bot runtime (bot env, Python 3.10 with Rasa 3.6): everything that runs in the webhook gateway,
the rasa server or the action server. The gateway (`gateway.py`, `sms_webhook.py`, `sms_reports.py`)
queues what the platforms post (`inbound_queue.py`); the rasa server (`rasa_server.py`) consumes the
queue in its channels (`channels/`, `_inbox.py`), keeps conversations in Redis (`tracker_store.py`,
`lock_store.py`, `transcript.py`), classifies intents with `intent_classifier.py` and applies the
declared Rasa patches (`rasa_patches.py`, `rasa_tuning.py`, `turn_failures.py`).

Everything that imports Rasa, Rasa SDK or Sanic lives here or in the thin adapters of `actions/`,
so the dialogue engine could one day be replaced without touching `platforms/`, `dialogue/`,
`clients/` or the backend.
"""
