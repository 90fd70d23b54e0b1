"""Users' messages and events as the platforms write them (fields in the platforms' order)."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from simulator.peer import next_msg_id, platform_xml


class UserAction(BaseModel):
    """What a simulated user does: send text/voice/location/image, or an event (subscribe, CLICK…)."""

    type: str = Field(pattern="^(text|voice|location|image|event)$")
    content: str = ""
    recognition: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    media_id: str = ""
    pic_url: str = ""
    event: str = ""
    event_key: str = ""


def message_fields(action: UserAction, sender: str, to: str) -> dict[str, str | int | float]:
    fields: dict[str, str | int | float] = {
        "ToUserName": to,
        "FromUserName": sender,
        "CreateTime": int(time.time()),
        "MsgType": action.type,
    }
    if action.type == "text":
        fields["Content"] = action.content
    elif action.type == "voice":
        fields |= {"MediaId": action.media_id or "voice_media", "Format": "amr"}
        if action.recognition is not None:
            fields["Recognition"] = action.recognition
    elif action.type == "location":
        fields |= {"Location_X": action.latitude or 0.0, "Location_Y": action.longitude or 0.0, "Scale": 15,
                   "Label": action.label}  # fmt: skip
    elif action.type == "image":
        fields |= {"PicUrl": action.pic_url, "MediaId": action.media_id}
    else:
        fields |= {"Event": action.event, "EventKey": action.event_key}
        return fields
    fields["MsgId"] = next_msg_id()
    return fields


def wechat_xml(action: UserAction, openid: str, account: str) -> str:
    return platform_xml(message_fields(action, openid, account))


def wecom_xml(action: UserAction, user_id: str, corp_id: str, agent_id: str) -> str:
    fields = message_fields(action, user_id, corp_id)
    fields["AgentID"] = int(agent_id) if agent_id.isdigit() else agent_id
    return platform_xml(fields)
