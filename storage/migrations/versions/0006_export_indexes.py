"""export indexes: one property's tickets reported, accepted, resolved or due in a period,
its surveys sent in one, reopenings and return visits recorded in one

Revision ID: 0006_export_indexes
Revises: 0005
Create Date: 2026-12-07 02:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_export_indexes"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Created, accepted and resolved by property come with the figure indexes (0005).
TICKET_INDEXES = {
    "ix_tickets_property_resolution_due": "resolution_due_at",
}


def upgrade() -> None:
    for name, column in TICKET_INDEXES.items():
        op.create_index(name, "tickets", ["property_id", column])
    op.create_index("ix_ticket_events_kind_at", "ticket_events", ["kind", "at"])
    op.create_index("ix_return_visits_recorded", "return_visits", ["recorded_at"])
    op.create_index(
        "ix_survey_responses_property_sent", "survey_responses", ["property_id", "sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_survey_responses_property_sent", table_name="survey_responses")
    op.drop_index("ix_return_visits_recorded", table_name="return_visits")
    op.drop_index("ix_ticket_events_kind_at", table_name="ticket_events")
    for name in TICKET_INDEXES:
        op.drop_index(name, table_name="tickets")
