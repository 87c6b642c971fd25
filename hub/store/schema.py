"""The hub's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Personal values never appear here in clear: ``records.data`` holds sealed tokens in place of
Pii fields, ``raw`` and ``quarantine.raw`` are sealed whole, lookups go through
``blind_index`` digests.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that reads back timezone-aware: SQLite returns naive ones, stored as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


connections = sa.Table(
    "connections",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("connector", sa.String(100), nullable=False),
    # Connector config as JSON; credentials appear only as "secret:NAME" references.
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    # "data" keys encrypt fields; "index" keys compute blind indexes and content hashes.
    sa.Column("purpose", sa.String(20), nullable=False),
    sa.Column("wrapped", sa.Text, nullable=False),  # the key, wrapped by the master key
    sa.Column("status", sa.String(20), nullable=False),  # primary | active | retired
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("kind", sa.String(50), nullable=False),  # canonical model name
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),  # canonical fields; Pii fields sealed
    sa.Column("raw", sa.Text, nullable=True),  # sealed vendor record; NULL on tombstones
    sa.Column("content_hash", sa.String(64), nullable=False),  # keyed HMAC of canonical data
    sa.Column("mapping_version", sa.String(50), nullable=False),
    sa.Column("source_updated_at", UtcDateTime(), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("connection", "object_type", "external_id", name="uq_records_key"),
)
sa.Index("ix_records_kind", records.c.kind)

blind_index = sa.Table(
    "blind_index",
    metadata,
    sa.Column(
        "record_id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        sa.ForeignKey("records.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(20), nullable=False),  # email | phone
    sa.Column("key_id", sa.Integer, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("record_id", "kind", "digest", name="pk_blind_index"),
)
sa.Index("ix_blind_index_lookup", blind_index.c.kind, blind_index.c.digest)

stream_state = sa.Table(
    "stream_state",
    metadata,
    sa.Column("connection", sa.String(100), primary_key=True),
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("state", sa.JSON, nullable=True),  # connector cursor after the last committed page
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

sync_runs = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False, server_default="sync"),  # sync | replay
    # running | succeeded | failed | interrupted (its lease was taken over from a dead process)
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("full_refresh", sa.Boolean, nullable=False, default=False),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("pages", sa.Integer, nullable=False, default=0),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("records_read", sa.Integer, nullable=False, default=0),
    sa.Column("records_written", sa.Integer, nullable=False, default=0),
    sa.Column("records_unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("records_deleted", sa.Integer, nullable=False, default=0),
    sa.Column("records_quarantined", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),  # safe message only, never a secret
)
sa.Index("ix_sync_runs_stream", sync_runs.c.connection, sync_runs.c.stream)

# The run that may sync a stream now; see hub.store.leases.
stream_leases = sa.Table(
    "stream_leases",
    metadata,
    sa.Column("connection", sa.String(100), primary_key=True),
    sa.Column("stream", sa.String(100), primary_key=True),
    sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.Column("holder", sa.String(300), nullable=False),  # host:pid:start of the run's process
    sa.Column("expires_at", UtcDateTime(), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("stream", sa.String(100), nullable=False),
    sa.Column("object_type", sa.String(100), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),
    sa.Column("raw", sa.Text, nullable=False),  # sealed vendor record
    sa.Column("error", sa.Text, nullable=False),  # field names and reasons, never values
    sa.Column("mapping_version", sa.String(50), nullable=False),
    sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),  # first seen invalid
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),  # last read, still invalid
    sa.Column("resolved_at", UtcDateTime(), nullable=True),
)
sa.Index("ix_quarantine_open", quarantine.c.connection, quarantine.c.resolved_at)

# Messages to send exactly once through a connector that takes no idempotency key (an SMS).
# A row is written in the same transaction as the change that causes it; workers claim due
# rows under a lease (``claimed_until``) and reconcile with the vendor before resending one
# whose earlier attempt may have reached it (``attempts`` > 1).
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False),
    # Sealed: recipient and body are personal. NULL once retention stripped a sent message.
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),  # pending | sending | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("external_id", sa.String(255), nullable=True),  # the vendor's id once sent
    sa.Column("error", sa.Text, nullable=True),  # the last failure: status and vendor code only
    sa.Column("claimed_by", sa.String(300), nullable=True),
    sa.Column("claimed_until", UtcDateTime(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.UniqueConstraint("connection", "idempotency_key", name="uq_outbox_key"),
    # An entry whose send may have reached the vendor is looked up, not resent: ``checks``
    # counts the look-ups that did not find it yet, ``due_at`` is when the next may run.
    sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", UtcDateTime(), nullable=True),
)
sa.Index("ix_outbox_due", outbox.c.connection, outbox.c.status)

# What the hub did with each distinct case push (the vendor's case id, created or updated),
# written in one transaction with whatever the push causes in the hub (an outbox message).
# ``revision`` is a keyed digest of the pushed fields: a push repeated unchanged is the same row.
case_pushes = sa.Table(
    "case_pushes",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False),
    sa.Column("revision", sa.String(64), nullable=False),
    sa.Column("external_id", sa.String(255), nullable=False),
    sa.Column("created", sa.Boolean, nullable=False),
    sa.Column("pushed_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("connection", "idempotency_key", "revision", name="uq_case_pushes_key"),
)

# -- the audit trail (hub.audit) ------------------------------------------------------------
# Append-only: entries are the leaves of an RFC 9162 Merkle tree, numbered 1, 2, ... by
# ``seq``. Every column but ``leaf_hash`` is covered by the leaf hash (docs/audit.md); no
# column ever holds a personal value or a secret.
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(32), nullable=False),  # ISO 8601 UTC, microseconds, "Z"
    sa.Column("principal", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("action", sa.String(60), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),  # success | denied | failure
    sa.Column("target_type", sa.String(60), nullable=True),
    sa.Column("target_id", sa.String(255), nullable=True),
    sa.Column("customer", sa.String(64), nullable=True),  # keyed pseudonym, never an id in clear
    sa.Column("fields", sa.Text, nullable=False),  # JSON list of field names, never values
    sa.Column("purpose", sa.Text, nullable=True),
    sa.Column("source", sa.String(300), nullable=False),  # where from: CLI user@host, API peer
    sa.Column("detail", sa.Text, nullable=False),  # canonical JSON: counts, statuses
    sa.Column("leaf_hash", sa.String(64), nullable=False),
)
sa.Index("ix_audit_entries_at", audit_entries.c.at)
sa.Index("ix_audit_entries_customer", audit_entries.c.customer)

# One row (id 1): the tree's size, and its frontier as of ``frontier_size`` (saved at each
# checkpoint). Every append updates the size first, which serialises appenders (a row lock
# on PostgreSQL, the write lock on SQLite): one tree, no gaps.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier_size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.Text, nullable=False),  # JSON list of hex subtree roots
)

# Signed tree heads; the signing key lives in a file (audit_key_file), never here.
audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.String(64), nullable=False),
    sa.Column("at", sa.String(32), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),  # base64 Ed25519 over checkpoint_message
)

# Who may act, with which role; a token is stored only as its SHA-256.
principals = sa.Table(
    "principals",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),  # admin | integrator | agent | auditor
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("revoked_at", UtcDateTime(), nullable=True),
)

# How often `hub run` syncs a connection's streams, when not the connector's default: one row
# for the whole connection (stream "*") and one per stream that differs. In the database, not
# in hub.toml, so every node of a cluster schedules the same and a change needs no restart.
stream_schedules = sa.Table(
    "stream_schedules",
    metadata,
    sa.Column(
        "connection",
        sa.String(100),
        sa.ForeignKey("connections.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("stream", sa.String(100), primary_key=True),  # "*": every stream
    sa.Column("every_seconds", sa.Float, nullable=True),  # an interval, or
    sa.Column("cron", sa.String(100), nullable=True),  # a crontab expression (UTC)
    sa.Column("drift_seconds", sa.Float, nullable=True),  # the stream's drift target
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# -- the vault's key lifecycle (issue 19) --------------------------------------------------
# How many values each data key has sealed (flushed once per page or write, not per value),
# and when it was retired: a retired key's wrapped material is destroyed.
data_keys.append_column(
    sa.Column("seals", sa.BigInteger, nullable=False, default=0, server_default=sa.text("0"))
)
data_keys.append_column(sa.Column("retired_at", UtcDateTime(), nullable=True))
# The index key that computed a record's content hash (NULL: written before it was recorded),
# so the census of an index key is a count, not a decryption of every record.
records.append_column(sa.Column("hash_key_id", sa.Integer, nullable=True))

# Where the rewrap job is, per table it walks: ``after`` is the last key it finished (the
# primary key as text), so a killed job resumes from the next batch.
rewrap_progress = sa.Table(
    "rewrap_progress",
    metadata,
    sa.Column("target", sa.String(50), primary_key=True),
    sa.Column("after", sa.String(300), nullable=True),
    sa.Column("finished", sa.Boolean, nullable=False),
    sa.Column("rows_done", sa.BigInteger, nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Retention's pruning of the audit trail (hub.audit.pruning): the roots of the perfect subtrees
# that stand for the pruned entries 1..max(start + size), so proofs and verification of the
# entries kept still reach the signed checkpoints.
audit_pruned = sa.Table(
    "audit_pruned",
    metadata,
    sa.Column("start", sa.BigInteger, primary_key=True, autoincrement=False),  # 0-based leaf
    sa.Column("size", sa.BigInteger, nullable=False),  # leaves, a power of two
    sa.Column("hash", sa.String(64), nullable=False),  # hex subtree root
)

# Erasure by crypto-shredding (issue 19): one key per customer ("subject"), sealing every value
# of that customer's records in v2 tokens. ``subject_hash`` is a keyed HMAC of the customer's
# source identity under the "subject" key; ``wrapped`` is the customer key sealed as a v1
# token under a data key (table "subject_keys", column "wrapped", row the subject_hash). Forgetting
# the customer sets ``wrapped`` to NULL and ``erased_at``: the row that is left is the
# tombstone that keeps a later sync from bringing the customer back.
subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("wrapped", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("erased_at", UtcDateTime(), nullable=True),
)
# Records a sync did not store because their customer was forgotten.
sync_runs.append_column(
    sa.Column("records_erased", sa.Integer, nullable=False, default=0, server_default=sa.text("0"))
)
