"""The pure stages of a page's journey: mapping (:func:`prepare_page`) and sealing
(:func:`seal_page`), functions of the records and the keys alone, no database.

:mod:`hub.sync` runs them in process or, with ``sync_workers``, in worker processes
(:mod:`hub.sync_workers`); this module's imports are kept to what those stages need, so a
worker process loads no HTTP client and opens no database.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.errors import RecordInvalid, VaultError
from hub.mapping import StreamMapping
from hub.mapping import Tombstone as MappedTombstone
from hub.models import CanonicalRecord
from hub.store.quarantine import QuarantineRow
from hub.store.records import RecordRow, Tombstone, UnsealedRow
from hub.vault.data_key import SubjectKey
from hub.vault.keyring import Forgotten, Keyring
from hub.vault.sealing import PreparedRecord, prepare_record, seal_record, seal_value
from hub.vault.subjects import Resolved, subject_identity, subject_of

__all__ = [
    "QUARANTINE_TABLE",
    "HasKeyring",
    "MappedPage",
    "PagePreparer",
    "PreparedPage",
    "prepare_page",
    "quarantine_row_key",
    "seal_page",
    "to_record_row",
    "unsealed_row",
]

QUARANTINE_TABLE = "quarantine"


class HasKeyring(Protocol):
    """What the pure stages need of a hub: its keyring (a :class:`hub.runtime.Hub`, or a
    worker process's stand-in)."""

    @property
    def keyring(self) -> Keyring: ...


def quarantine_row_key(connection: str, object_type: str, external_id: str | None) -> str:
    """The row context a quarantined payload is sealed under (see hub.vault)."""
    return f"{connection}/{object_type}/{external_id or '-'}"


@dataclass
class MappedPage:
    """A page after mapping and sealing: ready to write, nothing in clear."""

    rows: list[RecordRow] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    invalid: list[QuarantineRow] = field(default_factory=list)
    erased: int = 0  # records of forgotten customers: not stored, not quarantined
    unsealed: list[UnsealedRow] = field(default_factory=list)  # unchanged: no token built


@dataclass
class PreparedPage:
    """A page after mapping, before sealing: each valid record with its content hash and blind
    indexes but no token yet (so an unchanged one need never be sealed), invalid ones with
    their error. Holds plaintext, in memory only, never stored like this."""

    connection: str
    object_type: str
    records: list[PreparedRecord] = field(default_factory=list)
    tombstones: list[Tombstone] = field(default_factory=list)
    invalid: list[tuple[dict[str, Any], RecordInvalid]] = field(default_factory=list)

    def subjects(self) -> tuple[set[str], set[str]]:
        """The customers this page's records belong to (their keys are created when missing),
        and the identities of its invalid records (only looked up: an invalid record may be a
        customer's, but a key is made only for a record known to be one)."""
        owners = {s for s in (subject_of(p.record) for p in self.records) if s is not None}
        invalid = {
            subject_identity(self.connection, self.object_type, exc.external_id)
            for _, exc in self.invalid
            if exc.external_id
        }
        return owners, invalid

    def keys(self) -> frozenset[tuple[str, str]]:
        """The (object_type, external_id) of the page's valid records."""
        p = [r.record.provenance for r in self.records]
        return frozenset((x.object_type, x.external_id) for x in p)


def prepare_page(
    hub: HasKeyring,
    mapping: StreamMapping,
    records: Sequence[dict[str, Any]],
    *,
    system: str,
    connection: str,
    deleted_ids: Sequence[str] = (),
) -> PreparedPage:
    """Map one page and compute each record's content hash, sealing nothing; invalid records
    are kept with their error, never raised. A key repeated in the page keeps its last
    occurrence, as the upsert would: the records are then distinct and their order no longer
    matters.

    ``deleted_ids`` are records the vendor reports deleted by id alone: tombstones.
    """
    preparer = PagePreparer(hub, mapping, system=system, connection=connection)
    preparer.add(records)
    return preparer.finish(deleted_ids)


class PagePreparer:
    """:func:`prepare_page` a slice of the page at a time, so that the sync's event loop can
    prepare the next page between the awaits of this one's transaction."""

    def __init__(
        self, hub: HasKeyring, mapping: StreamMapping, *, system: str, connection: str
    ) -> None:
        self._keyring = hub.keyring
        self._mapping = mapping
        self._system = system
        self._out = PreparedPage(connection=connection, object_type=mapping.object_type)
        self._latest: dict[tuple[str, str], PreparedRecord] = {}

    def add(self, records: Iterable[dict[str, Any]]) -> None:
        out, latest, mapping = self._out, self._latest, self._mapping
        for raw in records:
            try:
                mapped = mapping.apply(raw, system=self._system, connection=out.connection)
            except RecordInvalid as exc:
                out.invalid.append((raw, _detached(exc)))
                continue
            if isinstance(mapped, MappedTombstone):
                out.tombstones.append(
                    Tombstone(mapped.object_type, mapped.external_id, mapped.source_updated_at)
                )
            else:
                p = mapped.provenance
                key = (p.object_type, p.external_id)
                latest.pop(key, None)  # re-inserted: the last occurrence keeps its place
                latest[key] = prepare_record(mapped, self._keyring)

    def finish(self, deleted_ids: Sequence[str] = ()) -> PreparedPage:
        out = self._out
        out.records = list(self._latest.values())
        out.tombstones += [Tombstone(out.object_type, str(i), None) for i in deleted_ids]
        return out


def _detached(exc: RecordInvalid) -> RecordInvalid:
    """The error without its traceback and the error it replaced: kept in the page, those would
    hold this frame, so the whole page, in a reference cycle that only the cyclic collector
    frees, and a page per collection piles up in memory."""
    exc.__context__ = None
    return exc.with_traceback(None)


def seal_page(
    hub: HasKeyring,
    prepared: PreparedPage,
    subjects: Mapping[str, Resolved],
    *,
    stored: Mapping[tuple[str, str], str] | None = None,
) -> MappedPage:
    """Seal a prepared page with the customer keys resolved for it (a pure function of the
    records and the keys): a customer's records under their key, others under the data key;
    a forgotten customer's records are dropped and counted as ``erased``.

    With ``stored`` (content hashes of the stored copies by key), a record whose hash equals
    its stored copy's is not sealed: it becomes an :class:`UnsealedRow`, which the page's
    transaction seals only if that copy changed in between.
    """
    out = MappedPage(tombstones=prepared.tombstones)
    for raw, exc in prepared.invalid:
        identity = subject_identity(
            prepared.connection, prepared.object_type, exc.external_id or ""
        )
        key = subjects.get(identity) if exc.external_id else None
        if isinstance(key, Forgotten):
            out.erased += 1
            continue
        row = quarantine_row_key(prepared.connection, prepared.object_type, exc.external_id)
        sealed = seal_value(
            raw, hub.keyring, table=QUARANTINE_TABLE, column="raw", row=row, subject_key=key
        )
        out.invalid.append(QuarantineRow(prepared.object_type, exc.external_id, sealed, str(exc)))
    for record in prepared.records:
        model = record.record
        owner = subject_of(model)
        key = None if owner is None else subjects.get(owner)
        if isinstance(key, Forgotten):
            out.erased += 1
            continue
        if owner is not None and key is None:
            raise VaultError(f"the customer key of a {model.kind} record was not resolved")
        p = model.provenance
        if stored is not None and stored.get((p.object_type, p.external_id)) == record.content_hash:
            out.unsealed.append(unsealed_row(record, hub, subject_key=key))
        else:
            out.rows.append(to_record_row(record, hub, subject_key=key))
    return out


def to_record_row(
    record: Any, hub: HasKeyring, *, subject_key: SubjectKey | None = None
) -> RecordRow:
    """Seal a canonical model (or one prepared by :func:`prepare_page`) into a storable row,
    under its customer's key if given."""
    sealed = seal_record(record, hub.keyring, subject_key=subject_key)
    model = record.record if isinstance(record, PreparedRecord) else record
    p = model.provenance
    return RecordRow(
        object_type=p.object_type,
        external_id=p.external_id,
        kind=model.kind,
        data=sealed.data,
        raw=sealed.raw,
        content_hash=sealed.content_hash,
        index=sealed.index,
        source_updated_at=p.source_updated_at,
        hash_key_id=sealed.hash_key_id,
        subject_key_id=None if subject_key is None else subject_key.id,
    )


@functools.cache
def _personal_fields(model: type[CanonicalRecord]) -> frozenset[str]:
    return frozenset(model.pii_fields())


def unsealed_row(
    prepared: PreparedRecord, hub: HasKeyring, *, subject_key: SubjectKey | None = None
) -> UnsealedRow:
    """A prepared record the page's transaction seals only if it must be written after all."""
    model = prepared.record
    p = model.provenance
    personal = _personal_fields(type(model))
    return UnsealedRow(
        p.object_type,
        p.external_id,
        prepared.content_hash,
        prepared.index,
        kind=model.kind,
        data={k: v for k, v in prepared.plain.items() if k not in personal},
        source_updated_at=p.source_updated_at,
        seal=lambda: to_record_row(prepared, hub, subject_key=subject_key),
        source=prepared,
        subject_key_id=None if subject_key is None else subject_key.id,
    )
