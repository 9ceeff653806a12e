"""accounts: server-side sign-in sessions (rule 15)

Revision ID: 0010_login_sessions
Revises: 0009_claim_period
Create Date: 2026-11-30 14:10:00

Each sign-in is a row the session cookie names by a secret (only its SHA-256 is stored), so
logging out, a password change, a role removal or an admin's "sign out" ends it at once.
Cookies issued before this revision name no row and sign nobody in: everyone signs in again
once after the upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_login_sessions'
down_revision = '0009_claim_period'
branch_labels = None
depends_on = None

END_REASONS = (
    'logout', 'ended_by_owner', 'password_changed', 'password_reset', 'role_removed',
    'account_deleted', 'signed_out_by_admin', 'factors_removed',
)


def upgrade():
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('remember', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_for', sa.String(length=32), nullable=True),
    sa.Column('factor_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_agent', sa.String(length=400), nullable=False),
    sa.Column('network', sa.String(length=64), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint(
        'end_reason IN (' + ', '.join(f"'{r}'" for r in END_REASONS) + ')',
        name=op.f('ck_login_session_end_reason'),
    ),
    sa.ForeignKeyConstraint(['ended_by_id'], ['person.id'], name=op.f('fk_login_session_ended_by_id_person'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_login_session_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_session_token_hash'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index('ix_login_session_person_live', ['person_id', 'ended_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index('ix_login_session_person_live')
    op.drop_table('login_session')
