"""Safe XML for the platforms' callbacks: flat `<xml>` documents only.

`parse_flat_xml` caps the size (64 KB, checked again here even though the channel refuses larger
bodies first), refuses DOCTYPE/ENTITY outright, strips C0 control characters (WeChat forwards them
unescaped inside CDATA; `\\t\\n\\r` are kept), parses with defusedxml and insists on a flat
document: root `<xml>`, at most 40 distinct child fields of at most 10,000 characters, nothing
nested except the known `<ScanCodeInfo>`-style groups, which are flattened one level.
`render_xml` writes a flat document with CDATA that stays well-formed when a value holds `]]>`.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 40
MAX_VALUE_CHARS = 10_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlRejected(ValueError):
    """The body is not an acceptable platform XML document."""


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


def parse_flat_xml(body: bytes | str) -> dict[str, str]:
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise XmlRejected("too large")
    if _DTD.search(raw):
        raise XmlRejected("DOCTYPE or ENTITY declarations are refused")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XmlRejected("not UTF-8") from exc
    try:
        root = fromstring(strip_controls(text))
    except (ParseError, DefusedXmlException) as exc:
        raise XmlRejected(f"not well-formed: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise XmlRejected("root element is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        _collect(child, fields, nested=False)
    return fields


def _collect(element: Element, fields: dict[str, str], *, nested: bool) -> None:
    if len(element):
        if nested:
            raise XmlRejected("nested too deep")
        for grandchild in element:
            _collect(grandchild, fields, nested=True)
        return
    if element.tag in fields:
        raise XmlRejected(f"duplicate field {element.tag}")
    if len(fields) >= MAX_FIELDS:
        raise XmlRejected("too many fields")
    value = (element.text or "").strip() if element.tag != "Content" else (element.text or "")
    if len(value) > MAX_VALUE_CHARS:
        raise XmlRejected(f"field {element.tag} too long")
    fields[element.tag] = value


def cdata(value: str) -> str:
    """`value` in CDATA; a `]]>` inside is split across two sections (never XML-escaped)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_xml(fields: dict[str, str | int]) -> str:
    """A flat `<xml>` document: integers bare, strings in CDATA."""
    parts = []
    for name, value in fields.items():
        inner = str(value) if isinstance(value, int) else cdata(strip_controls(value))
        parts.append(f"<{name}>{inner}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"
