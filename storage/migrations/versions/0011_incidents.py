"""incidents: many reports of one outage at one place grouped under one incident (one card,
one SLA count); a planned incident opened by an announcement; tickets.incident_id and role

Revision ID: 0011_incidents
Revises: 0010_notices
Create Date: 2026-12-07 07:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0011_incidents"
down_revision: str | None = "0010_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = storage.models.UTCDateTime
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("hazard", sa.String(length=16), nullable=True),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("lead_ticket_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", when(), nullable=False),
        sa.Column("last_report_at", when(), nullable=False),
        sa.Column("starts_at", when(), nullable=True),
        sa.Column("ends_at", when(), nullable=True),
        sa.Column("closed_at", when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_incidents_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_incidents_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index("ix_incidents_place_status", "incidents", ["property_id", "building", "status"])
    op.create_index("ix_incidents_property_opened", "incidents", ["property_id", "opened_at"])
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("incident_role", sa.String(12), nullable=False, server_default="")
        )
        batch.create_foreign_key(
            "fk_tickets_incident_id_incidents",
            "incidents",
            ["incident_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_tickets_incident_id", ["incident_id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index("ix_tickets_incident_id")
        batch.drop_constraint("fk_tickets_incident_id_incidents", type_="foreignkey")
        batch.drop_column("incident_role")
        batch.drop_column("incident_id")
    op.drop_index("ix_incidents_property_opened", table_name="incidents")
    op.drop_index("ix_incidents_place_status", table_name="incidents")
    op.drop_table("incidents")
