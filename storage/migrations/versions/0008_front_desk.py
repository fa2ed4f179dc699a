"""front desk: a ticket's channel (Telegram, phone, walk-in, email, other, patrol) and the
staff member who registered it; existing tickets came through Telegram

Revision ID: 0008_front_desk
Revises: 0006_export_indexes
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_front_desk"
down_revision: str | None = "0006_export_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="telegram")
        )
        batch.add_column(sa.Column("registered_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("registered_by_name", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("registered_by_name")
        batch.drop_column("registered_by")
        batch.drop_column("channel")
