"""Taxonomy codes (docs/taxonomy.md). Labels shown to people live in the locale files, not here."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "repair",
    "cleaning",
    "security",
    "parking",
    "billing",
    "complaint",
    "inquiry",
    "suggestion",
    "other",
)
URGENCIES: tuple[str, ...] = ("emergency", "high", "normal", "low")
HAZARDS: tuple[str, ...] = (
    "gas",
    "fire",
    "water",
    "electric",
    "lift",
    "medical",
    "crime",
    "structure",
)
