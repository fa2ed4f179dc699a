"""Lexicon suggestions from staff corrections (``propdesk lexicon suggest``).

When staff move a ticket from one category to another, the words of its text that the lexicon
does not yet tie to the new category are candidates. A word scores higher the more corrected
texts of that category contain it, and lower the more it also appears in texts corrected to other
categories (so 的 and 了 do not float up).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from bot.nlp.codes import CATEGORIES

_STOP_WORDS = """
的 了 是 在 我 你 他 她 们 我们 你们 有 和 也 就 都 很 还 又 吗 吧 呢 啊 呀
这 那 个 一个 一下 没有 没 不
什么 怎么 请问 麻烦 谢谢 物业 小区 the a an is are to of and in on at it my our your i we you for
this that with be was were
"""
_STOP = frozenset(_STOP_WORDS.split())


def _tokens(text: str) -> set[str]:
    from bot.nlp import get_classifier

    classifier = get_classifier()
    words = set()
    for token in classifier.tokens(text):
        if token in _STOP or (len(token) < 2 and not token.isascii()):
            continue
        if token.isascii() and (len(token) < 3 or not token.isalpha()):
            continue
        words.add(token)
    return words


def suggest_terms(
    corrections: Iterable[tuple[str, str, str]], limit: int = 10, min_count: int = 2
) -> dict[str, list[tuple[str, float]]]:
    """Ranked ``(term, score)`` candidates per new category, best first.

    ``corrections`` holds ``(text, old_category, new_category)``. Terms already in the lexicon
    for the new category, and terms seen in fewer than ``min_count`` corrected texts, are left
    out. Unknown category codes are ignored.
    """
    from bot.nlp import get_classifier

    lexicon = get_classifier().lexicon
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    overall: Counter[str] = Counter()
    for text, old, new in corrections:
        if new not in CATEGORIES or new == old or not isinstance(text, str):
            continue
        words = _tokens(text)
        per_category[new].update(words)
        overall.update(words)
    result: dict[str, list[tuple[str, float]]] = {}
    for category, counts in per_category.items():
        known = lexicon.category_terms(category)
        ranked = [
            (word, round(count * math.log(1 + count / overall[word]) / math.log(2), 3))
            for word, count in counts.items()
            if count >= min_count and word not in known
        ]
        ranked.sort(key=lambda item: (-item[1], item[0]))
        if ranked:
            result[category] = ranked[:limit]
    return result
