"""dialog_states.due_at: an unsure emergency's question that silence answers (issue 15)

Revision ID: 0015_dialog_due
Revises: 0014_notice_outbox
Create Date: 2026-12-07 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0015_dialog_due"
down_revision: str | None = "0014_notice_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dialog_states") as batch:
        batch.add_column(sa.Column("due_at", storage.models.UTCDateTime(), nullable=True))
    op.create_index("ix_dialog_states_due", "dialog_states", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_dialog_states_due", table_name="dialog_states")
    with op.batch_alter_table("dialog_states") as batch:
        batch.drop_column("due_at")
