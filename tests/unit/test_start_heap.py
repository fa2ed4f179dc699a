"""`propdesk run` takes what start-up loaded out of the cycle collector's passes
(bot.cli.freeze_start_heap); what it makes afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from bot.cli import freeze_start_heap


class Node:
    def __init__(self) -> None:
        self.me: Node | None = None


def test_what_start_up_loaded_leaves_the_collectors_passes() -> None:
    loaded = [{"word": n} for n in range(1000)]  # stands for the dictionary and the models
    gc.unfreeze()
    try:
        freeze_start_heap()
        assert gc.get_freeze_count() >= len(loaded)
        assert not any(gc.is_tracked(item) and item in gc.get_objects() for item in loaded[:3])
    finally:
        gc.unfreeze()


def test_cycles_made_after_start_are_still_collected() -> None:
    gc.unfreeze()
    try:
        freeze_start_heap()
        node = Node()
        node.me = node  # a cycle: only the collector frees it
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
