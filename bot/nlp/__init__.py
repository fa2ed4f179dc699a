"""Resident-message classifier: ``classify(text)`` -> category, urgency, hazard (docs/taxonomy.md).

Call :func:`warm_up` once at start-up (off the event loop): it loads the jieba dictionary, the
OpenCC tables and the lexicon, which otherwise happens on the first call.
"""

from __future__ import annotations

import os
import threading

from bot.nlp import _jieba  # noqa: F401  # first: jieba without pkg_resources
from bot.nlp.classifier import Classification, Classifier
from bot.nlp.codes import CATEGORIES, HAZARDS, URGENCIES
from bot.nlp.learned import ModelError
from bot.nlp.lexicon import Lexicon, LexiconError
from bot.nlp.lexicon import load_lexicon as _load_lexicon
from bot.nlp.normalize import normalize_term

__all__ = [
    "CATEGORIES",
    "HAZARDS",
    "URGENCIES",
    "Classification",
    "Classifier",
    "Lexicon",
    "LexiconError",
    "ModelError",
    "classify",
    "get_classifier",
    "load_lexicon",
    "warm_up",
]

_classifier: Classifier | None = None
_lock = threading.Lock()


def load_lexicon(extra_path: str | os.PathLike[str] | None = None) -> Lexicon:
    """Built-in lexicon merged with ``extra_path`` (default: $PROPDESK_LEXICON); validated."""
    return _load_lexicon(extra_path, normalize_term)


def warm_up(extra_path: str | os.PathLike[str] | None = None) -> Classifier:
    """Build the shared classifier now (and again when given another lexicon file).

    Raises LexiconError when a lexicon file is invalid, and ModelError when $PROPDESK_MODEL
    names a model file that cannot be read, so a bad company file fails at start-up.
    """
    global _classifier
    built = Classifier(load_lexicon(extra_path))
    with _lock:
        _classifier = built
    return built


def get_classifier() -> Classifier:
    """The shared classifier, built on first use."""
    if _classifier is None:
        with _lock:
            if _classifier is None:
                globals()["_classifier"] = Classifier(load_lexicon())
    assert _classifier is not None
    return _classifier


def classify(text: str) -> Classification:
    """Category, urgency and hazard for one message. Pure, thread-safe, never raises."""
    try:
        classifier = get_classifier()
    except Exception:  # an invalid $PROPDESK_LEXICON surfaces in warm_up(), not per message
        return Classification("other", "low", None, 0.0, ())
    return classifier.classify(text)
