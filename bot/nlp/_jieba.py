"""jieba imported without ``pkg_resources``.

jieba 0.42 imports ``pkg_resources`` only to open its own dictionary file, and falls back to
a plain ``open`` when the import fails. Importing it costs a `propdesk run` about 5 MB of
memory and 0.1 s (setuptools' vendored packaging and pyparsing, and a scan of every installed
package), and no other part of PropDesk needs it. So the import is refused while jieba
loads, then allowed again for anyone else. Imported first by :mod:`bot.nlp`.
"""

from __future__ import annotations

import sys

_ABSENT = object()


def import_jieba_without_pkg_resources() -> None:
    held = sys.modules.get("pkg_resources", _ABSENT)
    if held is _ABSENT:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # "import" raises ImportError
    try:
        import jieba  # noqa: F401
    finally:
        # (unless another thread imported it meanwhile)
        if held is _ABSENT and sys.modules.get("pkg_resources", _ABSENT) is None:
            del sys.modules["pkg_resources"]


import_jieba_without_pkg_resources()
