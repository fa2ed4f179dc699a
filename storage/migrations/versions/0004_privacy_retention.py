"""privacy: tickets.redacted_at for the retention sweep and /forgetme

Revision ID: 0004_privacy
Revises: 0003
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004_privacy"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("redacted_at", storage.models.UTCDateTime(), nullable=True))
        batch.create_index("ix_tickets_redacted_closed", ["redacted_at", "closed_at"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_redacted_closed")
        batch.drop_column("redacted_at")
