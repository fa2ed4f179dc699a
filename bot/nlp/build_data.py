"""Regenerate the derived data files in ``bot/nlp/data`` (a developer tool, not used at run time).

``words.txt`` is the most frequent part of jieba's own dictionary: loading the full 349k-word
dictionary costs over a second on small machines, which would break the cold-start budget, while
the top words are enough to keep ordinary words (猫眼, 火锅) from being mistaken for our terms.
``pinyin.json`` groups common characters by toneless pinyin for homophone-typo matching, so the
run time does not import pypinyin's 40k-entry table (about 0.3 s).

Run: ``.venv/bin/python -m bot.nlp.build_data``
"""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).with_name("data")
TOP_WORDS = 50_000
CJK_FIRST, CJK_LAST = 0x4E00, 0x9FFF


def build_words(target: Path = DATA / "words.txt") -> int:
    """Write the TOP_WORDS most frequent jieba words as ``word freq`` lines."""
    import jieba

    source = Path(jieba.__file__).with_name("dict.txt")
    rows: list[tuple[str, int]] = []
    for line in source.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        # ASCII words would split English tokens ("li" + "ft"), so only Chinese words are kept.
        if len(parts) >= 2 and parts[1].isdigit() and not parts[0].isascii():
            rows.append((parts[0], int(parts[1])))
    rows.sort(key=lambda row: (-row[1], row[0]))
    kept = rows[:TOP_WORDS]
    target.write_text("".join(f"{w} {f}\n" for w, f in kept), encoding="utf-8")
    return len(kept)


def build_pinyin(target: Path = DATA / "pinyin.json") -> int:
    """Write ``{syllable: characters}`` for the CJK block, by each character's first reading."""
    from pypinyin import Style, pinyin

    groups: dict[str, list[str]] = {}
    for code in range(CJK_FIRST, CJK_LAST + 1):
        char = chr(code)
        reading = pinyin(char, style=Style.NORMAL, heteronym=False, errors="ignore")
        if reading and reading[0] and reading[0][0].isalpha():
            groups.setdefault(reading[0][0], []).append(char)
    payload = {syl: "".join(chars) for syl, chars in sorted(groups.items())}
    target.write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")
    return sum(len(chars) for chars in payload.values())


if __name__ == "__main__":
    print("words:", build_words())
    print("pinyin chars:", build_pinyin())
