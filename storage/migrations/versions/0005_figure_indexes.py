"""figure indexes: every digest query reads one property's period, not the whole history

Revision ID: 0005
Revises: 0004_privacy
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept here as written at this revision (storage/models.py may move on).
UNRESOLVED = "resolved_at IS NULL AND status <> 'cancelled'"
CANCELLED = "status = 'cancelled'"

PLAIN: list[tuple[str, str, list[str]]] = [
    ("ix_tickets_property_created", "tickets", ["property_id", "created_at"]),
    ("ix_ratings_answered", "ratings", ["answered_at"]),
    ("ix_return_visits_ticket", "return_visits", ["ticket_id"]),
    ("ix_survey_responses_property_answered", "survey_responses", ["property_id", "answered_at"]),
]
PARTIAL: list[tuple[str, list[str], str]] = [
    ("ix_tickets_property_accepted", ["property_id", "accepted_at"], "accepted_at IS NOT NULL"),
    ("ix_tickets_property_resolved", ["property_id", "resolved_at"], "resolved_at IS NOT NULL"),
    ("ix_tickets_property_unresolved", ["property_id", "created_at"], UNRESOLVED),
    ("ix_tickets_property_cancelled", ["property_id", "closed_at"], CANCELLED),
]


def upgrade() -> None:
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns)
    for name, columns, where in PARTIAL:
        op.create_index(
            name,
            "tickets",
            columns,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )
    # Fresh statistics, so the planner knows the new indexes' worth at once.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE tickets, ratings, return_visits, survey_responses")


def downgrade() -> None:
    for name, _columns, _where in reversed(PARTIAL):
        op.drop_index(name, table_name="tickets")
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
