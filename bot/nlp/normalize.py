"""Text normalisation shared by messages and lexicon terms."""

from __future__ import annotations

import re
import threading
import unicodedata

import opencc

# Telegram caps a message at 4096 characters; anything longer is pasted junk, and truncating
# bounds the work done per message.
MAX_CHARS = 4096
_CJK_FIRST, _CJK_LAST = 0x4E00, 0x9FFF

# Control characters and emoji presentation selectors carry no meaning for matching; line
# breaks become clause breaks so unpunctuated multi-line messages still split into clauses.
_DROP: dict[int, str | None] = {code: None for code in range(0x20) if chr(code) not in "\n\r\t"}
_DROP.update({0x7F: None, 0xFE0E: None, 0xFE0F: None, 0x200D: None, 0x200B: None, 0xFEFF: None})
_DROP.update({ord("\n"): "。", ord("\r"): "。", ord("\t"): " ", 0x3000: " "})
_DROP.update({ord("’"): "'", ord("‘"): "'"})
_CONTRACTIONS = re.compile(r"\b(can|won|isn|aren|doesn|don|didn|wasn|weren|hasn|haven|couldn)'t\b")
_CONTRACTION_BASE = {"can": "can", "won": "will"}

# Written Cantonese (Hong Kong residents) -> Standard Chinese, after t2s, so one lexicon
# serves both: 升降機困咗人 -> 电梯困了人, 冇人喺入面 -> 没人在里面. Longer forms first; only
# applied when a marker that Standard Chinese does not use appears.
_CANTONESE = (
    ("升降机", "电梯"),
    ("落嚟", "下来"),
    ("落去", "下去"),
    ("晕低", "晕倒"),
    ("瞓低", "倒下"),
    ("跌低", "摔倒"),
    ("而家", "现在"),
    ("屋企", "家里"),
    ("入面", "里面"),
    ("出面", "外面"),
    ("隔篱", "隔壁"),
    ("差啲", "差点"),
    ("仲喺", "还在"),
    ("仲有", "还有"),
    ("成日", "总是"),
    ("点解", "为什么"),
    ("乜嘢", "什么"),
    ("边度", "哪里"),
    ("唔该", "麻烦"),
    ("唔系", "不是"),
    ("咗", "了"),
    ("喺", "在"),
    ("冇", "没"),
    ("嘅", "的"),
    ("哋", "们"),
    ("佢", "他"),
    ("嚟", "来"),
    ("啲", "些"),
    ("乜", "什么"),
    ("睇", "看"),
    ("嘢", "东西"),
)
# A character class is the cheapest test: the marker characters plus the first characters of
# the marker words (升降机, 屋企, 而家).
_CANTONESE_HINT = re.compile("[咗喺冇嘅哋佢嚟啲乜睇嘢唔升屋而]")
_CANTONESE_RE = re.compile("|".join(re.escape(a) for a, _ in _CANTONESE))
_CANTONESE_MAP = dict(_CANTONESE)
# 唔 is a Mandarin interjection too ("唔,好的"): only before another character is it "not".
_CANTONESE_NOT = re.compile("唔(?=[\u4e00-\u9fff])")


def _from_cantonese(text: str) -> str:
    if _CANTONESE_HINT.search(text) is None:
        return text
    text = _CANTONESE_RE.sub(lambda m: _CANTONESE_MAP[m.group()], text)
    return _CANTONESE_NOT.sub("不", text)


class _Converter:
    """OpenCC t2s, applied only when a message contains a character that it would change."""

    def __init__(self) -> None:
        self._cc = opencc.OpenCC("t2s")
        # The binding's thread-safety is undocumented, so calls are serialised.
        self._lock = threading.Lock()
        everything = "".join(chr(c) for c in range(_CJK_FIRST, _CJK_LAST + 1))
        converted = self.convert(everything)
        same_length = len(converted) == len(everything)
        self.traditional = frozenset(
            a for a, b in zip(everything, converted, strict=False) if a != b and same_length
        )
        # A character class finds one faster than a set walks the message.
        chars = "".join(re.escape(ch) for ch in sorted(self.traditional))
        self.pattern = re.compile(f"[{chars}]") if chars else re.compile("(?!)")

    def convert(self, text: str) -> str:
        with self._lock:
            return str(self._cc.convert(text))


_converter: _Converter | None = None
_converter_lock = threading.Lock()


def _get_converter() -> _Converter:
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                _converter = _Converter()
    return _converter


def _expand_contraction(match: re.Match[str]) -> str:
    base = match.group(1)
    return _CONTRACTION_BASE.get(base, base[:-1] if base.endswith("n") else base) + " not"


def normalize(text: str) -> str:
    """NFKC (full width -> half width), Traditional -> Simplified, case fold, junk removed."""
    text = text[:MAX_CHARS]
    # Lone surrogates (binary junk decoded loosely) would make OpenCC's UTF-8 encoding fail.
    text = text.encode("utf-8", "ignore").decode("utf-8")
    text = unicodedata.normalize("NFKC", text).translate(_DROP)
    converter = _get_converter()
    if converter.pattern.search(text) is not None:
        text = converter.convert(text)
    text = _from_cantonese(text).casefold()
    if "'" in text:
        text = _CONTRACTIONS.sub(_expand_contraction, text)
    return text


def normalize_term(term: str) -> str:
    """Lexicon terms get the same treatment as messages, so extenders may write 電梯 or LIFT."""
    return " ".join(normalize(term).split())


def warm_up() -> None:
    """Load the OpenCC dictionary now rather than on the first Traditional message."""
    _get_converter()
