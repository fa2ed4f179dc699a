"""jieba's exact segmentation (dictionary only, no HMM), without its per-call overhead.

``jieba.Tokenizer.lcut(text, HMM=False)`` builds a DAG dict, then a route dict through a
generator per character, recomputing ``log(freq)`` for every candidate word. This does the same
walk over the same dictionary with the log probabilities computed once, so its tokens are
identical (tests compare them) at a fraction of the cost. Read-only after construction, so it
is thread-safe.
"""

from __future__ import annotations

import math
import re

import jieba

# The patterns jieba 0.42 uses for the accurate mode.
_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
_SKIP = re.compile("(\r\n|\\s)", re.U)


class Segmenter:
    """Dictionary segmentation equal to ``tokenizer.lcut(text, HMM=False)``."""

    def __init__(self, tokenizer: jieba.Tokenizer) -> None:
        # The tokenizer's words and their prefixes (freq 0; the classifier never changes its
        # tokenizer after building it) as one lookup per fragment: a word's log probability,
        # NaN for a bare prefix, which never wins a comparison, so the walk needs no test for it.
        logtotal = math.log(tokenizer.total)
        self._table: dict[str, float] = {
            word: (math.log(f) - logtotal if f else math.nan) for word, f in tokenizer.FREQ.items()
        }
        self._miss = math.log(1) - logtotal  # jieba's ``log(FREQ.get(word) or 1) - logtotal``

    def cut(self, text: str) -> list[str]:
        out: list[str] = []
        # Splitting on a pattern with one group puts its matches at the odd indexes: no second
        # match per block is needed to tell them apart.
        for index, block in enumerate(_HAN.split(text)):
            if not block:
                continue
            if index % 2:
                self._cut_block(block, out)
            else:
                for inner, part in enumerate(_SKIP.split(block)):
                    if inner % 2:
                        out.append(part)
                    else:
                        out.extend(part)
        return out

    def _cut_block(self, sentence: str, out: list[str]) -> None:
        table, miss = self._table, self._miss
        size = len(sentence)
        score = [0.0] * (size + 1)
        end = [0] * (size + 1)
        for start in range(size - 1, -1, -1):
            best_score = -math.inf
            best_end = start
            i = start
            logp_word = table.get(sentence[start])
            while logp_word is not None:
                value = logp_word + score[i + 1]
                if value >= best_score:  # ties go to the longer word, as in jieba's max()
                    best_score, best_end = value, i
                i += 1
                if i == size:
                    break
                logp_word = table.get(sentence[start : i + 1])
            if best_score == -math.inf:
                # No word starts here, so the character is not one either: jieba scores it
                # as unseen (its ``FREQ.get(char) or 1``).
                best_score = miss + score[start + 1]
                best_end = start
            score[start], end[start] = best_score, best_end
        pos = 0
        buf = ""
        while pos < size:
            stop = end[pos] + 1
            word = sentence[pos:stop]
            if len(word) == 1 and word.isascii() and word.isalnum():  # [a-zA-Z0-9]
                buf += word
            else:
                if buf:
                    out.append(buf)
                    buf = ""
                out.append(word)
            pos = stop
        if buf:
            out.append(buf)
