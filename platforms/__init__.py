"""The outside platforms PowerDesk talks to: WeChat official accounts (`wechat/`), WeCom for grid
workers (`wecom/`) and SMS (`sms/`): their protocols, crypto, API clients, limits, windows and
errors, with the text rules and settings they share.

Imported by both environments (the app env's backend, notifier and simulator on Python 3.11, the
bot env's rasa server and gateway on Python 3.10), so nothing here imports Rasa, Sanic, a provider
SDK or the backend (pyproject.toml's import contracts check it).
"""
