"""What an agent may send: text, never markup.

The console shows every line with `textContent`, so nothing a customer or an agent types runs in
another agent's page; this also keeps markup away from the customer (WeChat renders `<a href>` in a
customer-service message). Tags are removed, a stray `<` or `>` becomes its full-width form (so
"电压<200V" still reads), control and zero-width characters go, blank lines collapse.
"""

from __future__ import annotations

import re

#: characters of one reply: fits one WeChat customer-service message and, as the SMS template's
#: text variable (300), an SMS, without a channel cutting it
AGENT_TEXT_MAX = 300
SUMMARY_MAX = 100

_TAG = re.compile(r"<\s*/?\s*[A-Za-z!?][^<>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_agent_text(value: str, *, one_line: bool = False) -> str:
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _TAG.sub("", text)
    text = text.replace("<", "＜").replace(">", "＞")
    text = _CONTROL.sub("", text.replace("\t", " "))
    text = " ".join(text.split()) if one_line else _BLANK_LINES.sub("\n\n", text)
    return text.strip()
