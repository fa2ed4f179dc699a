"""front desk: a ticket's channel (Telegram, phone, walk-in, email, other, patrol) and the
staff member who registered it (existing tickets came through Telegram); visitors;
questions the FAQ did not answer

Revision ID: 0008_front_desk
Revises: 0007_delivery
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0008_front_desk"
down_revision: str | None = "0007_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(16), nullable=False, server_default="telegram")
        )
        batch.add_column(sa.Column("registered_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("registered_by_name", sa.String(64), nullable=True))
    when = storage.models.UTCDateTime
    op.create_table(
        "visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "property_id",
            sa.Integer(),
            sa.ForeignKey(
                "properties.id", ondelete="CASCADE", name="fk_visitors_property_id_properties"
            ),
            nullable=False,
        ),
        sa.Column(
            "host_resident_id",
            sa.Integer(),
            sa.ForeignKey(
                "residents.id", ondelete="SET NULL", name="fk_visitors_host_resident_id_residents"
            ),
            nullable=True,
        ),
        sa.Column("host_address", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("starts_at", when(), nullable=True),
        sa.Column("ends_at", when(), nullable=True),
        sa.Column("registered_by", sa.BigInteger(), nullable=True),
        sa.Column("guard_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("answer_due_at", when(), nullable=True),
        sa.Column("arrived_at", when(), nullable=True),
        sa.Column("left_at", when(), nullable=True),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_visitors"),
    )
    op.create_index("ix_visitors_property_created", "visitors", ["property_id", "created_at"])
    op.create_index("ix_visitors_code", "visitors", ["code"])
    op.create_index("ix_visitors_created", "visitors", ["created_at"])
    op.create_table(
        "faq_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "property_id",
            sa.Integer(),
            sa.ForeignKey(
                "properties.id", ondelete="CASCADE", name="fk_faq_gaps_property_id_properties"
            ),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("entry_id", sa.String(64), nullable=True),
        sa.Column("at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_faq_gaps"),
    )
    op.create_index("ix_faq_gaps_property_at", "faq_gaps", ["property_id", "at"])


def downgrade() -> None:
    op.drop_table("faq_gaps")
    op.drop_table("visitors")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("registered_by_name")
        batch.drop_column("registered_by")
        batch.drop_column("channel")
