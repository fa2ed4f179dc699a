"""Where the tests find PostgreSQL: the server's admin database, in which each run creates a
database of its own (tests/conftest.py)."""

from __future__ import annotations

import os

PG_ADMIN_DSN = os.environ.get("PROPDESK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
