"""Mapping between platform messages and bot turns, both ways (no rasa import).

Inbound: `wechat_turn` / `wecom_turn` decide, for one verified message, what text and metadata
Rasa gets (docs/contracts.md "Rasa side"), or what the channel answers itself. User text always
goes through `platforms.text.normalize` (NFKC, a leading "/" neutralised); only the channel
builds `/intent` messages, from menu keys and task-card buttons.

Outbound: `render_reply` merges one turn's bot messages into a single text (WeChat allows 5
customer-service messages per user message, so a turn must cost one), buttons as numbered lines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from platforms import texts
from platforms.text import MAX_CHARS, normalize
from platforms.wechat.protocol import Inbound

MENU_INTENTS = {
    "MENU_REPAIR": "report_outage",
    "MENU_OUTAGE": "query_outage",
    "MENU_BILL": "query_bill",
    "MENU_APPLICATION": "query_application",
    "MENU_GRID_WORKER": "contact_grid_worker",
}
TASK_INTENTS = ("accept_task", "arrive_site", "resolve_task")
_TICKET_NO = re.compile(r"^QX\d{12}$")


@dataclass
class Turn:
    #: text for Rasa; None when no Rasa turn runs
    text: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: what the channel answers itself when there is no Rasa turn
    direct_reply: str | None = None
    #: put before the bot's reply (e.g. the text was cut)
    notice: str | None = None


def _metadata(inbound: Inbound, msg_type: str, **extra: Any) -> dict[str, Any]:
    return {"message_key": inbound.key, "msg_type": msg_type, **extra}


def _text_turn(inbound: Inbound, raw: str, msg_type: str) -> Turn:
    normalized = normalize(raw)
    if not normalized.text:
        return Turn(direct_reply=texts.EMPTY_MESSAGE)
    meta = _metadata(inbound, msg_type)
    if normalized.emoji_only:
        # Emoji carry no words for the NLU to read (it may take 👍 for a yes): the bot asks for words.
        return Turn(text="/nlu_fallback", metadata=meta | {"emoji_only": True})
    notice = texts.TRUNCATED.format(limit=MAX_CHARS) if normalized.truncated else None
    return Turn(text=normalized.text, metadata=meta, notice=notice)


def _location_turn(inbound: Inbound) -> Turn:
    fields = inbound.fields
    try:
        latitude, longitude = float(fields["Location_X"]), float(fields["Location_Y"])
    except (KeyError, ValueError):
        return Turn(direct_reply=texts.UNSUPPORTED_MESSAGE)
    label = normalize(fields.get("Label", "")).text
    text = texts.LOCATION_TEXT.format(label=label) if label else texts.LOCATION_NO_LABEL
    meta = _metadata(inbound, "location", latitude=latitude, longitude=longitude)
    if label:
        meta["address"] = label
    return Turn(text=text, metadata=meta)


def _image_turn(inbound: Inbound) -> Turn:
    meta = _metadata(inbound, "image", media_id=inbound.fields.get("MediaId", ""))
    if inbound.fields.get("PicUrl"):
        meta["pic_url"] = inbound.fields["PicUrl"]
    return Turn(text=texts.IMAGE_TEXT, metadata=meta)


def _common_turn(inbound: Inbound) -> Turn | None:
    """Message types both platforms share; None for events."""
    fields = inbound.fields
    kind = inbound.msg_type
    if kind == "text":
        return _text_turn(inbound, fields.get("Content", ""), "text")
    if kind == "voice":
        recognition = fields.get("Recognition", "").strip()
        if recognition:
            return _text_turn(inbound, recognition, "voice")
        return Turn(direct_reply=texts.VOICE_NOT_RECOGNISED)
    if kind == "location":
        return _location_turn(inbound)
    if kind == "image":
        return _image_turn(inbound)
    if kind == "event":
        return None
    return Turn(direct_reply=texts.UNSUPPORTED_MESSAGE)


def wechat_turn(inbound: Inbound) -> Turn:
    turn = _common_turn(inbound)
    if turn is not None:
        return turn
    event = inbound.fields.get("Event", "").lower()
    meta = _metadata(inbound, "event", event=event)
    if event == "subscribe":
        return Turn(text="/greet", metadata=meta)
    if event == "click":
        intent = MENU_INTENTS.get(inbound.fields.get("EventKey", ""))
        if intent is None:
            return Turn(direct_reply=texts.UNKNOWN_MENU)
        return Turn(text=f"/{intent}", metadata=meta)
    return Turn()  # unsubscribe and the silent events: nothing to say


def wecom_turn(inbound: Inbound) -> Turn:
    turn = _common_turn(inbound)
    if turn is not None:
        return turn
    event = inbound.fields.get("Event", "").lower()
    meta = _metadata(inbound, "event", event=event)
    if event in ("taskcard_click", "click"):
        intent, _, ticket_no = inbound.fields.get("EventKey", "").partition(":")
        if intent not in TASK_INTENTS:
            return Turn(direct_reply=texts.UNKNOWN_MENU)
        if _TICKET_NO.match(ticket_no):
            return Turn(text=f"/{intent}{json.dumps({'ticket_no': ticket_no})}", metadata=meta)
        return Turn(text=f"/{intent}", metadata=meta)
    return Turn()  # enter_agent, view, location reports...: nothing to say


def render_reply(messages: list[dict[str, Any]]) -> str:
    """One text for a turn's bot messages (Rasa collector dicts: text, buttons, image, custom)."""
    parts: list[str] = []
    index = 0
    for message in messages:
        lines = [str(message["text"]).strip()] if message.get("text") else []
        for button in message.get("buttons") or []:
            index += 1
            lines.append(texts.BUTTON_LINE.format(index=index, title=button.get("title", "")))
        if message.get("image"):
            lines.append(str(message["image"]))
        custom = message.get("custom")
        if isinstance(custom, dict) and custom.get("text"):
            lines.append(str(custom["text"]))
        if lines:
            parts.append("\n".join(line for line in lines if line))
    return "\n\n".join(p for p in parts if p)


def button_payloads(messages: list[dict[str, Any]]) -> list[str]:
    """The payloads of the numbered options in `render_reply`'s text, in order."""
    payloads: list[str] = []
    for message in messages:
        for button in message.get("buttons") or []:
            payloads.append(str(button.get("payload", "")))
    return payloads
