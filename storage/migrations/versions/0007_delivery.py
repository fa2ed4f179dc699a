"""delivery: outbox priorities, claims apart from retry times, sends of unknown outcome

Revision ID: 0007_delivery
Revises: 0006_export_indexes
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_delivery"
down_revision: str | None = "0006_export_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("uncertain_sends", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_index(
        "ix_outbox_chat_status", "outbox", ["chat_id", "status", "priority", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_status", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("uncertain_sends")
        batch.drop_column("claimed_until")
        batch.drop_column("priority")
