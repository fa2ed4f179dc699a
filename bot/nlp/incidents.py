"""How alike two reports are, for grouping many reports of one outage (停水 in 3栋) under one
incident. Only shared services can be one incident: a leak in one flat is that flat's
problem, however many neighbours write the same words. So a report first needs a *topic*
(water, power, lift, gas supply, door access, network), found by the words people use for
an outage of it; then the content words (jieba tokens minus filler, topic words folded into
the topic) are compared with Jaccard's index.

`score(a, b)` is 0 when the topics differ or either has none; otherwise TOPIC_WEIGHT plus
the rest times the Jaccard index, so the same topic alone is a weak match and the same
topic in the same words a confident one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.nlp.normalize import normalize

# Outage words per shared service, matched on the normalised text (so 没有水 counts).
TOPICS: dict[str, re.Pattern[str]] = {
    "water": re.compile(r"停水|断水|没水|没有水|无水|不来水|来水|水压|自来水|水停|没热水"),
    "power": re.compile(r"停电|断电|没电|没有电|来电|电停|整栋.*跳闸"),
    "lift": re.compile(r"电梯"),
    "gas": re.compile(r"停气|没气|没有气|燃气停|天然气停|打不着火"),
    "access": re.compile(r"门禁|单元门.*(打不开|坏)"),
    "network": re.compile(r"断网|没网|没有网|网络|宽带|有线电视"),
}
# A lone character that names the service itself (水 in 什么时候来水) is the topic too.
TOPIC_CHARS: dict[str, str] = {"water": "水", "power": "电", "gas": "气", "network": "网"}
TOPIC_WEIGHT = 0.4
_STOPWORDS_FILE = Path(__file__).with_name("data") / "faq_stopwords.txt"
# Filler of reports beyond the FAQ's question words: places (the place is matched apart),
# feelings and pleas that say nothing about which problem it is.
_MORE_FILLER = {
    "栋", "楼", "号楼", "单元", "整栋", "整", "都", "也", "还", "又", "就", "很", "太",
    "麻烦", "尽快", "赶紧", "快点", "处理", "一下子", "现在", "今天", "一直", "突然",
    "好像", "怎么回事", "咋", "啦", "呀", "哦", "嘛", "楼里", "家里", "我们家",
}  # fmt: skip
_stopwords: frozenset[str] | None = None


@dataclass(frozen=True)
class ReportWords:
    """What grouping compares: the report's topic ("" when none) and its content words."""

    topic: str
    words: frozenset[str]


def topic_of(text: str) -> str:
    """The shared service a report is about, or "" (a problem of one flat, say)."""
    norm = normalize(text)
    for topic, pattern in TOPICS.items():
        if pattern.search(norm):
            return topic
    return ""


def report_words(text: str, tokens: list[str]) -> ReportWords:
    """`tokens` are the classifier's jieba tokens of `text` (Classifier.tokens)."""
    topic = topic_of(text)
    words: set[str] = set()
    for token in tokens:
        token = token.strip()
        if not token or token in _filler() or not any(ch.isalpha() for ch in token):
            continue
        if len(token) == 1 and not _is_cjk_noun(token):
            continue
        # "停水", "没水" and "来水" are one thing said three ways: fold them into the topic.
        same = topic and (TOPICS[topic].search(token) or token == TOPIC_CHARS.get(topic))
        words.add(f"@{topic}" if same else token)
    if topic:
        words.add(f"@{topic}")
    return ReportWords(topic, frozenset(words))


def score(a: ReportWords, b: ReportWords) -> float:
    """0 (not the same problem) to 1 (the same words about the same service)."""
    if not a.topic or a.topic != b.topic:
        return 0.0
    union = a.words | b.words
    jaccard = len(a.words & b.words) / len(union) if union else 1.0
    return TOPIC_WEIGHT + (1 - TOPIC_WEIGHT) * jaccard


def _is_cjk_noun(token: str) -> bool:
    """A lone character that still says something (水, 电, 灯, 门), not a particle."""
    return token in {"水", "电", "灯", "门", "气", "网", "梯"}


def _filler() -> frozenset[str]:
    global _stopwords
    if _stopwords is None:
        listed = _STOPWORDS_FILE.read_text(encoding="utf-8").split()
        _stopwords = frozenset(listed) | _MORE_FILLER
    return _stopwords
