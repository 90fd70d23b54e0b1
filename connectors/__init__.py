"""PowerDesk's messaging channels.

Imported by both environments: the app env (backend notifier, simulator; Python 3.11, redis-py 8)
and the bot env (the rasa server; Python 3.10, redis-py 4.6). Only the `channel.py` modules import
rasa. Platform packages: `wechat/` (official account), `wecom/` (grid workers), `sms/`.
"""
