"""export indexes: one property's tickets reported in a period, its surveys sent in one

Revision ID: 0006_export_indexes
Revises: 0004_privacy
Create Date: 2026-12-07 02:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_export_indexes"
down_revision: str | None = "0004_privacy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_tickets_property_created", "tickets", ["property_id", "created_at"])
    op.create_index(
        "ix_survey_responses_property_sent", "survey_responses", ["property_id", "sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_survey_responses_property_sent", table_name="survey_responses")
    op.drop_index("ix_tickets_property_created", table_name="tickets")
