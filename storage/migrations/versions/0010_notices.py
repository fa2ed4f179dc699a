"""notices: announcements to residents, who they were queued to, and who turned them off

Revision ID: 0010_notices
Revises: 0009_duty
Create Date: 2026-12-07 05:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0010_notices"
down_revision: str | None = "0009_duty"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("audience_value", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.Column("safety", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("send_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("started_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("finished_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_notices_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_status_send_at", "notices", ["status", "send_at"])
    op.create_index("ix_notices_property_created", "notices", ["property_id", "created_at"])
    op.create_table(
        "notice_recipients",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_recipients_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notice_id", "telegram_id", name=op.f("pk_notice_recipients")),
    )
    op.create_index(
        "ix_notice_recipients_telegram", "notice_recipients", ["telegram_id", "notice_id"]
    )
    op.create_table(
        "notice_optouts",
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", name=op.f("pk_notice_optouts")),
    )


def downgrade() -> None:
    op.drop_table("notice_optouts")
    op.drop_index("ix_notice_recipients_telegram", table_name="notice_recipients")
    op.drop_table("notice_recipients")
    op.drop_index("ix_notices_property_created", table_name="notices")
    op.drop_index("ix_notices_status_send_at", table_name="notices")
    op.drop_table("notices")
