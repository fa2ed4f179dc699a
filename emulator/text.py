"""Text handling as Telegram does it: UTF-16 lengths, HTML parse mode, command entities.

The HTML parser follows TDLib's ``parse_html`` closely (tags, attributes, entity decoding
and its error messages with UTF-8 byte offsets).  One deliberate difference: a bare ``&``
that does not start a valid entity is refused when ``strict_ampersand`` is true (the
default), although Telegram keeps it literally; the Bot API documentation asks for it to
be escaped and the project wants to catch texts that forget to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Entity = dict[str, Any]

_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\v\0"
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w@/])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")


class HtmlParseError(ValueError):
    """The text after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts limits and offsets in."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int


@dataclass
class _Parser:
    text: str
    strict_ampersand: bool
    pos: int = 0
    out: list[str] = field(default_factory=list)
    utf16: int = 0
    stack: list[_Open] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def at(self, index: int) -> str:
        return self.text[index] if index < len(self.text) else "\0"

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.utf16 += utf16_len(chunk)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACES:
            self.pos += 1

    def run(self) -> tuple[str, list[Entity]]:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "&":
                self.ampersand()
            elif char == "<":
                if self.at(self.pos + 1) == "/":
                    self.end_tag()
                else:
                    self.start_tag()
            else:
                self.emit(char)
                self.pos += 1
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        return "".join(self.out), self.entities

    def ampersand(self) -> None:
        decoded, end = decode_entity(self.text, self.pos)
        if decoded is None:
            if self.strict_ampersand:
                raise HtmlParseError(
                    f'Character "&" at byte offset {self.byte_offset(self.pos)} '
                    'must be escaped as "&amp;"'
                )
            self.emit("&")
            self.pos += 1
            return
        self.emit(decoded)
        self.pos = end

    def start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        while self.at(self.pos) not in _SPACES and self.at(self.pos) != ">":
            self.pos += 1
        if self.pos >= len(self.text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        tag = self.text[begin + 1 : self.pos].lower()
        if tag not in _TAGS:
            raise HtmlParseError(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        argument = self.attributes(tag, begin)
        if tag == "span" and argument != "spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.pos += 1
        self.stack.append(_Open(tag, argument, self.utf16))

    def attributes(self, tag: str, begin: int) -> str:
        argument = ""
        while self.at(self.pos) != ">":
            self.skip_spaces()
            if self.pos >= len(self.text):
                raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if self.at(self.pos) == ">":
                break
            name, value = self.attribute(tag, begin)
            argument = _tag_argument(tag, name, value, argument)
        return argument

    def attribute(self, tag: str, begin: int) -> tuple[str, str]:
        name_begin = self.pos
        while self.at(self.pos) not in _SPACES and self.at(self.pos) not in "=>":
            self.pos += 1
        name = self.text[name_begin : self.pos]
        where = f'the tag "{tag}" at byte offset {self.byte_offset(begin)}'
        if not name:
            raise HtmlParseError(f"Empty attribute name in {where}")
        self.skip_spaces()
        if self.at(self.pos) != "=" and tag == "blockquote" and name.lower() == "expandable":
            return "expandable", ""
        if self.at(self.pos) != "=":
            raise HtmlParseError(f"Expected equal sign in declaration of an attribute of {where}")
        self.pos += 1
        self.skip_spaces()
        if self.pos >= len(self.text):
            raise HtmlParseError(
                f'Unclosed start tag "{tag}" at byte offset {self.byte_offset(begin)}'
            )
        value = self.quoted_value() if self.at(self.pos) in "'\"" else self.name_token()
        if self.pos >= len(self.text):
            raise HtmlParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        return name.lower(), value

    def name_token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and (
            (self.text[self.pos].isascii() and self.text[self.pos].isalnum())
            or self.text[self.pos] in ".-"
        ):
            self.pos += 1
        if self.at(self.pos) not in _SPACES and self.at(self.pos) != ">":
            raise HtmlParseError(
                f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
            )
        return self.text[start : self.pos].lower()

    def quoted_value(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        chunks: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            if self.text[self.pos] == "&":
                decoded, end = decode_entity(self.text, self.pos)
                if decoded is not None:
                    chunks.append(decoded)
                    self.pos = end
                    continue
            chunks.append(self.text[self.pos])
            self.pos += 1
        if self.pos < len(self.text):
            self.pos += 1
        return "".join(chunks)

    def end_tag(self) -> None:
        begin = self.pos
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 2
        while self.at(self.pos) not in _SPACES and self.at(self.pos) != ">":
            self.pos += 1
        end_name = self.text[begin + 2 : self.pos].lower()
        self.skip_spaces()
        if self.at(self.pos) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        opened = self.stack.pop()
        if end_name and end_name != opened.tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{opened.tag}>", found "</{end_name}>"'
            )
        self.pos += 1
        self.close_entity(opened)

    def close_entity(self, opened: _Open) -> None:
        length = self.utf16 - opened.offset
        if length <= 0:
            return
        entity = _make_entity(opened, length)
        last = self.entities[-1] if self.entities else None
        if (
            opened.tag == "pre"
            and last is not None
            and last["type"] == "code"
            and last["offset"] == opened.offset
            and last["length"] == length
            and "language" in last
        ):
            self.entities.pop()
            entity["language"] = last["language"]
        self.entities.append(entity)


def _tag_argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    if tag == "blockquote" and name == "expandable":
        return "1"
    return current


def _make_entity(opened: _Open, length: int) -> Entity:
    kind = _ENTITY_TYPE[opened.tag]
    entity: Entity = {"type": kind, "offset": opened.offset, "length": length}
    if opened.tag == "a":
        if opened.argument.startswith("tg://user?id="):
            entity["type"] = "text_mention"
            entity["user"] = {
                "id": int(opened.argument.split("=", 1)[1] or 0),
                "is_bot": False,
                "first_name": "",
            }
        else:
            entity["url"] = opened.argument
    elif opened.tag == "code" and opened.argument:
        entity["language"] = opened.argument
    elif opened.tag == "tg-emoji":
        entity["custom_emoji_id"] = opened.argument
    elif opened.tag == "blockquote" and opened.argument:
        entity["type"] = "expandable_blockquote"
    return entity


def decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode an HTML entity at ``pos`` (``&lt;``, ``&#33;``, ``&#x21;``; the ``;`` is optional)."""
    end = pos + 1
    if text[end : end + 1] == "#":
        end += 1
        hexadecimal = text[end : end + 1] == "x"
        if hexadecimal:
            end += 1
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        start = end
        while end < len(text) and text[end] in digits and end - start < 8:
            end += 1
        if end == start or end - pos >= 10:
            return None, pos
        code = int(text[start:end], 16 if hexadecimal else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None, pos
        decoded = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED:
            return None, pos
        decoded = _NAMED[name]
    if text[end : end + 1] == ";":
        end += 1
    return decoded, end


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[Entity]]:
    """Return the plain text and its entities; raise :class:`HtmlParseError` like Telegram."""
    plain, entities = _Parser(text, strict_ampersand).run()
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return plain, entities


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, moving and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    head = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - head, 0)
        end = min(entity["offset"] + entity["length"] - head, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram adds by itself to a user's text: bot commands and mentions."""
    found: list[Entity] = []
    for kind, pattern in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE)):
        for match in pattern.finditer(text):
            found.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group()),
                }
            )
    found.sort(key=lambda e: e["offset"])
    return found


def entity_text(text: str, entity: Entity) -> str:
    """The part of ``text`` an entity covers (offsets are UTF-16)."""
    encoded = text.encode("utf-16-le")
    start = entity["offset"] * 2
    return encoded[start : start + entity["length"] * 2].decode("utf-16-le")
