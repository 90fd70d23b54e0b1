"""Every customer-facing text the channels say themselves, in one place (the dialogue's own texts
are the Rasa domain's responses; pushes are backend/notifications/templates.py)."""

from __future__ import annotations

# --- what a message could not be understood as ---------------------------------------------------
VOICE_NOT_RECOGNISED = "抱歉，这条语音没能识别出来。麻烦您用文字简单描述一下情况，我马上为您处理。"
UNSUPPORTED_MESSAGE = "抱歉，暂时无法查看这类消息。请您用文字描述需要办理的事情，或直接发送所在位置。"
EMPTY_MESSAGE = "您好，请问有什么可以帮您？可以直接告诉我您遇到的用电问题。"
UNKNOWN_MENU = "您好，这个功能正在完善中。请直接用文字告诉我您需要办理的事情，我来为您处理。"
TRUNCATED = "（您的消息较长，我们先按前{limit}个字为您处理。）"
BUTTON_LINE = "回复{index}：{title}"
LOCATION_TEXT = "我的位置：{label}"
LOCATION_NO_LABEL = "我的位置"
IMAGE_TEXT = "[图片]"

# --- when a turn cannot be answered now (bot_runtime/_inbox.py) -----------------------------------
#: said once when a message's answer is delayed (the system behind the assistant is busy or down);
#: the message is kept and answered as soon as it can be
DELAYED = "您的消息我们已经收到，系统正忙，答复会稍晚一些，请您稍候，无需重复发送。紧急情况请拨打95598供电服务热线。"
#: said when a message could not be handled after three tries and was handed to staff
APOLOGY = "非常抱歉，您的消息暂时没能处理成功，我们已转交工作人员跟进。如情况紧急，请直接拨打95598供电服务热线。"

# --- SMS subscription (bot_runtime/channels/sms.py) ------------------------------------------------
#: the answer to "订阅" after an opt-out: service notices by SMS again
SMS_SUBSCRIBED = "您已重新开通供电服务短信通知，停电、抢修进度等消息将再次通过短信告知您。回复TD可退订。"
