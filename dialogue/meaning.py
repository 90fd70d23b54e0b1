"""What a message means, in the light of what was just said.

The NLU's intent is the starting point; words settle what it cannot know: which bill question
("阶梯怎么算" is not "跟邻居比"), praise against complaint ("师傅很快" is not a complaint), and a
follow-up to the last answer ("送电" after an application is its connection date, not an outage;
"多了" after a bill is month on month). The meanings are the keys of the engine's handlers.
"""

from __future__ import annotations

import re

from dialogue.message import APPLICATION_RE, FALLBACK, TICKET_RE, Message
from dialogue.state import State

# --- words that decide on their own ----------------------------------------------------------------
UNBIND = re.compile(r"解绑|解除绑定|取消绑定|解除关联|换绑")
BIND = re.compile(r"绑定|绑个户号|绑户号|关联户号|绑一下")
MANAGER = re.compile(r"客户经理|业扩经理|对接的?经理|找经理")
HAZARD = re.compile(
    r"电线(掉|断|落|垂)|(着|起|失)火|冒烟|冒火|火花|火星|打火|触电|被电(到|击|了)|电到人|漏电(?!保护|开关|保)|电线杆(倒|断)|"
    r"高压线(断|掉)|爆炸|烧焦|烧起来|带电"
)
URGE = re.compile(
    r"快点|快些|尽快|赶紧|催一下|催催|催办|太慢|怎么还没(人)?来|还要多久|多久能(到|来|修好)|急死|着急|"
    r"等了(好|很)?久|老人|小孩|孩子|病人|孕妇|冰箱|制氧|呼吸机"
)
# A question about a promised date of a connection application (业扩), not about an outage.
CONNECTION_DATE = re.compile(r"送电|通电|接电|装表|什么时候能用(上)?电|啥时候(能)?(用上)?电|多久能(用上)?电|接火")
MATERIALS = re.compile(r"材料|准备什么|要带|需要什么|要什么|资料")
PAY = re.compile(r"(怎么|在哪|哪里|去哪)(儿)?(交|缴|付|充)")
# "报修，3201234567": a report that leads with the word, whatever else the message carries
REPORT = re.compile(r"^(我要|要)?(报修|报个修|停电报修|故障报修)")
QUESTION = re.compile(r"吗|没有|是不是|查|有没有|会不会|[？?]")
# No power now, in the customer's words (dialect and the common typo 停点 included)
NO_POWER = re.compile(r"停电|没电|没有电|莫得电|没得电|冇电|断电|停点|掉电")
# Words of someone asking for a person; without one, "个人住宅" or "叫赵磊" is not such a request
PERSON = re.compile(
    r"人工|客服|真人|活人|坐席|工作人员|找人|找个人|叫人|叫个人|个人来|跟人|和人|换个人|来个人|你们的人|接人|有人|人呢|"
    r"说话|通话|接通|转接|机器|95598|经理|领导|值班"
)
# The utility's own telephone number: 95598
HOTLINE = re.compile(r"(电力|供电|电业|国网|你们|客服|服务|抢修)(公司|局)?的?(电话|热线)|热线(电话)?(是|多少)")
# Where or when a service hall (营业厅) is: not the grid worker, though they are named too.
SERVICE_HALL = re.compile(r"营业厅|营业网点|服务网点|服务大厅|供电大厅")
WHERE_OR_WHEN = re.compile(
    r"在哪|哪里|哪儿|哪个|哪有|地址|位置|怎么走|怎么去|最近|附近|几点|营业时间|上班时间|开门|关门|周末|节假日|电话"
)
PAYING = re.compile(r"交|缴|充值|付费")
# A breaker that keeps tripping: a repair report, with its own advice, whatever the NLU made of it.
TRIPPING = re.compile(r"跳闸|跳电|(空开|开关|漏保|总闸|电闸|闸).{0,6}跳")
OFTEN = re.compile(
    r"老是|总是|老跳|经常|常常|频繁|动不动|反复|隔三差五|三天两头|天天|每天|好几次|很多次|多次|不停|几回|一开.{0,6}就"
)
# Power back before the crew, or the report called off ("已经来电了，不用修了"); not "还没来电"
POWER_BACK = re.compile(
    r"(来电|有电|通电)(了|啦|咯|喽)|电(已经|又)?(来|恢复|好)(了|啦|咯)|恢复(供电|正常)了|不(用|需要)(来|修|过来|上门|派人)|别来了|"
    r"(撤销|撤回|取消)(报修|工单)"
)
NOT_YET = re.compile(r"没|未|还不|不来电|吗|[？?]")
# How long something takes ("需要多久", "办下来要几天"): answered by what was just talked about
HOW_LONG = re.compile(r"多久|多长时间|多少天|几天|几个工作日|时限")
# A new connection in the customer's words ("开个新户", "装个电表"), which the NLU may not place
NEW_CONNECTION = re.compile(r"新户|开户|开个户|立户|新装|报装|装个?电?表|申请用电|办电")
ENGLISH = re.compile(r"^[A-Za-z][A-Za-z\s,.!?，！？'\"-]*$")

# --- bills ----------------------------------------------------------------------------------------
BILL_WORDS = re.compile(r"电费|账单|电价|度电|用电量|用了多少|缴费|欠费|余额|阶梯|峰谷|力调|基本电费|预付费")
BILL_MEANINGS = (
    ("bill_tou", re.compile(r"峰谷|峰电|谷电|分时|平段|尖峰")),
    ("bill_power_factor", re.compile(r"力调|功率因数|力率")),
    ("bill_basic", re.compile(r"基本电费|容量电费|需量|变压器容量")),
    ("bill_prepaid", re.compile(r"预付费|预存|预交|充值|余额不足.*停")),
    (
        "bill_tiers",
        re.compile(r"阶梯|第[一二三123]档|档位|梯度|多少钱一度|一度电?(多少|几)|每度电?(多少|几)|电价(是)?多少"),
    ),
    ("bill_peers", re.compile(r"邻居|别人家|别家|人家|同类|平均|其他(人|家)|隔壁|跟.{0,4}比")),
    (
        "bill_month",
        re.compile(r"上个?月|上期|环比|比上|多了|涨了|贵了|高了|翻倍|怎么这么(多|贵|高)|为(什么|啥)(这么)?(多|贵|高)"),
    ),
    ("bill_arrears", re.compile(r"欠费|欠多少|欠了|欠钱|拖欠|没交|欠不欠|有没有欠")),
    ("bill_due", re.compile(r"什么时候交|截止|最晚|到期|哪天交|几号交")),
)
#: tariff questions anyone may ask (no personal data); the others need the customer's account
GENERAL_BILL = frozenset({"bill_tou", "bill_power_factor", "bill_basic", "bill_prepaid", "bill_tiers"})

# --- praise, complaint ----------------------------------------------------------------------------
PRAISE = re.compile(
    r"很快|挺快|真快|及时|辛苦|表扬|点赞|给力|专业|耐心|态度(很|真|挺)?好|服务(很|真|挺)?好|"
    r"谢谢师傅|感谢师傅|师傅(人)?(很|真|挺)好|好评|满意"
)
NEGATIVE = re.compile(
    r"不(满意|好|行|及时|专业|耐烦|礼貌)|没(人|来|修|到)|慢|差|投诉|迟到|烂|垃圾|凶|骂|恶劣|乱收|敷衍"
)

INTENT_MEANINGS = {
    "greet": "greet",
    "goodbye": "goodbye",
    "thank": "thank",
    "bot_challenge": "bot_challenge",
    "out_of_scope": "out_of_scope",
    "report_outage": "report_outage",
    "report_hazard": "report_hazard",
    "query_outage": "query_outage",
    "query_repair_progress": "query_repair_progress",
    "query_application": "query_application",
    "apply_connection": "apply_connection",
    "payment_methods": "payment_methods",
    "contact_grid_worker": "contact_grid_worker",
    "complaint": "complaint",
    "rate_service": "rate_service",
    "request_human": "request_human",
    "affirm": "affirm",
    "deny": "deny",
    "inform": "inform",
    "accept_task": "worker_step",
    "arrive_site": "worker_step",
    "resolve_task": "worker_step",
}
#: meanings that answer nothing on their own: a task's free-text question may take them
WEAK = frozenset({"inform", "affirm", "deny", "fallback", "report_outage", "urge"})


def trips_often(text: str) -> bool:
    """A breaker said to trip again and again ("老是跳闸", "空开动不动就跳")."""
    return TRIPPING.search(text) is not None and OFTEN.search(text) is not None


def bill_meaning(text: str, intent: str) -> str | None:
    for meaning, words in BILL_MEANINGS:
        if words.search(text):
            return meaning
    if intent == "query_bill":
        return "bill_amount"
    if intent == "explain_bill":
        return "bill_why"
    return None


def meaning_of(message: Message, state: State) -> str:
    text = message.text
    intent = message.intent
    if message.emoji_only:
        return "emoji"
    if not message.bare:
        return "empty"
    if message.is_restart():
        return "restart"
    if ENGLISH.match(message.bare) and len(message.bare) > 3:
        return "english"
    if UNBIND.search(text):
        return "unbind"
    if BIND.search(text) and intent not in ("report_outage", "report_hazard"):
        return "bind"
    if HAZARD.search(text) or intent == "report_hazard":
        return "report_hazard"
    if MANAGER.search(text):
        return "application_manager"
    follow_up = _follow_up(message, state)
    if follow_up:
        return follow_up
    if not state.identity.is_worker and POWER_BACK.search(text) and not NOT_YET.search(text):
        return "power_back"
    if TICKET_RE.fullmatch(message.bare):  # a ticket number on its own asks how it stands
        return "query_repair_progress"
    if APPLICATION_RE.fullmatch(message.bare):
        return "query_application"
    # "查一下QX…": the NLU reads the number's digits too, and a date it has not seen may leave it
    # unsure; a ticket or application number in a message it cannot place is what is asked about.
    if intent == FALLBACK and TICKET_RE.search(text):
        return "query_repair_progress"
    if intent == FALLBACK and APPLICATION_RE.search(text):
        return "query_application"
    if intent in ("query_bill", "explain_bill", FALLBACK) or BILL_WORDS.search(text):
        found = bill_meaning(text, intent)
        if found and (intent in ("query_bill", "explain_bill") or found in GENERAL_BILL or _bill_fallback(message)):
            return found
    if REPORT.match(message.bare) and intent in ("inform", FALLBACK, "affirm"):
        return "report_outage"
    if intent in ("inform", FALLBACK) and NO_POWER.search(text) and _names_a_place(message):
        # "我家停电了 地址是翠湖苑5栋1单元201": the place given with the report draws the NLU to inform
        return "query_outage" if QUESTION.search(text) else "report_outage"
    if trips_often(text) and intent in (FALLBACK, "inform", "query_outage", "out_of_scope", "report_outage"):
        return "report_outage"
    if NEW_CONNECTION.search(text) and intent in (FALLBACK, "inform", "out_of_scope"):
        return "apply_connection"
    if HOTLINE.search(text) and intent in (FALLBACK, "out_of_scope", "contact_grid_worker", "inform", "request_human"):
        return "hotline"
    if SERVICE_HALL.search(text) and WHERE_OR_WHEN.search(text) and not PAYING.search(text) and intent != "complaint":
        return "service_hall"
    if intent in ("complaint", "thank", "rate_service") and PRAISE.search(text) and not NEGATIVE.search(text):
        return "praise"
    if intent == "complaint" and URGE.search(text) and not re.search(r"投诉|举报|态度", text):
        return "urge"
    if intent == FALLBACK:
        if URGE.search(text):
            return "urge"
        return _outage_family(message) or "fallback"
    if intent == "request_human" and not text.startswith("/") and not PERSON.search(text):
        return "fallback"  # the NLU's reading of "个人" or "叫…" in an answer to something else
    if intent in ("affirm", "deny") and message.yes_no() is None:
        return "fallback"  # a yes or no the NLU is unsure of, in words that are neither
    return INTENT_MEANINGS.get(intent, "fallback")


def _names_a_place(message: Message) -> bool:
    return bool(message.address() or message.account_no() or message.phone() or message.location())


def _outage_family(message: Message) -> str | None:
    """The NLU torn between reporting and asking about an outage: a question is a question."""
    top = [name for name, _ in message.ranking[:2]]
    if set(top) != {"report_outage", "query_outage"} or "电" not in message.text:
        return None
    return "query_outage" if QUESTION.search(message.text) else "report_outage"


def _bill_fallback(message: Message) -> bool:
    """A message the NLU did not place reads as a bill question when it says enough on its own:
    "上个月怎么用了这么多" does, a bare "多了" with nothing before it does not."""
    return message.intent == FALLBACK and (BILL_WORDS.search(message.text) is not None or len(message.bare) >= 6)


def _follow_up(message: Message, state: State) -> str | None:
    """A short question that continues the last answer's topic."""
    text = message.text
    if CONNECTION_DATE.search(text) and (state.topic_is("application") or state.identity.is_business):
        return "application_connection_date"
    if HOW_LONG.search(text) and state.topic_is("application"):
        return "application_connection_date"
    if state.topic_is("application"):
        if MATERIALS.search(text):
            return "application_materials"
    if state.topic_is("bill") and message.intent not in ("payment_methods",):
        found = bill_meaning(text, "")
        if found:
            return found
        if PAY.search(message.bare) and len(message.bare) <= 8:
            return "payment_methods"
    if state.topic_is("ticket") and URGE.search(text):
        return "urge"
    if HOW_LONG.search(text):
        for topic, meaning in (("ticket", "query_repair_progress"), ("outage", "query_outage")):
            if state.topic_is(topic):
                return meaning
    return None
