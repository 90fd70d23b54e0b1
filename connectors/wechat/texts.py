"""The few customer-facing texts the channels say themselves (everything else comes from the bot)."""

from __future__ import annotations

VOICE_NOT_RECOGNISED = "抱歉，这条语音没能识别出来。麻烦您用文字简单描述一下情况，我马上为您处理。"
UNSUPPORTED_MESSAGE = "抱歉，暂时无法查看这类消息。请您用文字描述需要办理的事情，或直接发送所在位置。"
EMPTY_MESSAGE = "您好，请问有什么可以帮您？可以直接告诉我您遇到的用电问题。"
UNKNOWN_MENU = "您好，这个功能正在完善中。请直接用文字告诉我您需要办理的事情，我来为您处理。"
BUSY = "抱歉，系统暂时繁忙，您的消息已记录，我们会尽快处理并回复您。紧急情况请拨打95598。"
TRUNCATED = "（您的消息较长，我们先按前{limit}个字为您处理。）"
BUTTON_LINE = "回复{index}：{title}"
LOCATION_TEXT = "我的位置：{label}"
LOCATION_NO_LABEL = "我的位置"
IMAGE_TEXT = "[图片]"
