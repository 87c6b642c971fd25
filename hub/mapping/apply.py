"""Applying a compiled stream mapping: one raw vendor record in, a canonical record out.

Field rules run the record through its source and transforms; a record that does not fit
becomes a :class:`RecordInvalid` whose message names fields, never values.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from pydantic import ValidationError

from hub.errors import RecordInvalid
from hub.mapping.sources import Source, _FieldFailure
from hub.models import CanonicalRecord, Provenance
from hub.transforms import BoundTransform, counting_drops, parse_datetime

# The package's name, not this module's: log configuration and tests know "hub.mapping".
log = logging.getLogger("hub.mapping")


@dataclass(frozen=True)
class Tombstone:
    """A source deletion: the record with this id is gone from the vendor."""

    object_type: str
    external_id: str
    source_updated_at: datetime | None


MappedRecord: TypeAlias = CanonicalRecord | Tombstone


def _truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null and empty text, lists and objects are false; 0 is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, (str, list, dict)) and not value)


@dataclass(frozen=True)
class _FieldRule:
    name: str
    source: Source
    transforms: tuple[BoundTransform, ...]
    default: Any

    def evaluate(self, record: dict[str, Any]) -> Any:
        value = self.source(record)
        for transform in self.transforms:
            try:
                value = transform.fn(value)  # not through __call__: a frame less, per value
            except Exception as exc:
                raise _failure(transform, exc) from None
        if value is None and self.default is not None:
            return copy.deepcopy(self.default)
        return value


def _failure(transform: BoundTransform, exc: Exception) -> Exception:
    """What a transform's error becomes: a built-in's ValueError or TypeError, whose message
    names no value, as it is; any other error of a built-in is a bug, raised as it is; a
    plugin's error by its type only (its message may quote the value)."""
    if not transform.builtin:
        return _FieldFailure(
            f"transform {transform.name!r} rejected the value ({type(exc).__name__})"
        )
    if isinstance(exc, (ValueError, TypeError)):
        return _FieldFailure(str(exc))
    return exc


@dataclass(frozen=True)
class _Target:
    model: type[CanonicalRecord]
    when: Source | None
    fields: tuple[_FieldRule, ...]


@dataclass(frozen=True)
class StreamMapping:
    """The compiled mapping of one stream; :meth:`apply` maps one raw record."""

    name: str
    object_type: str
    version: str
    id_rule: _FieldRule = field(repr=False)
    updated_at_rule: _FieldRule = field(repr=False)
    deleted_when: Source | None = field(repr=False)
    targets: tuple[_Target, ...] = field(repr=False)

    @property
    def models(self) -> tuple[type[CanonicalRecord], ...]:
        """The canonical models this stream's records can become."""
        return tuple(t.model for t in self.targets)

    def apply(self, raw: dict[str, Any], *, system: str, connection: str) -> MappedRecord:
        """Map one raw vendor record; raise RecordInvalid (safe to store) if it does not fit."""
        if not isinstance(raw, dict):
            raise RecordInvalid(f"stream {self.name}: the record is not a JSON object")
        external_id = self._external_id(raw)
        updated_at = self._updated_at(raw, external_id)
        if self.deleted_when is not None and self._predicate(self.deleted_when, raw, external_id):
            return Tombstone(self.object_type, external_id, updated_at)
        target = self._target_for(raw, external_id)
        values = self._field_values(target, raw, external_id)
        provenance = Provenance(
            system=system,
            connection=connection,
            object_type=self.object_type,
            external_id=external_id,
            source_updated_at=updated_at,
        )
        try:
            return target.model(provenance=provenance, raw=raw, **values)
        except ValidationError as exc:
            raise self._invalid(external_id, _validation_reasons(exc)) from None

    def _invalid(self, external_id: str | None, reasons: Sequence[str]) -> RecordInvalid:
        which = f"record {external_id}" if external_id is not None else "a record"
        return RecordInvalid(
            f"stream {self.name}, {which}: {'; '.join(reasons)}", external_id=external_id
        )

    def _external_id(self, raw: dict[str, Any]) -> str:
        try:
            value = self.id_rule.evaluate(raw)
        except _FieldFailure as exc:
            raise self._invalid(None, [f"id: {exc}"]) from None
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
            raise self._invalid(None, ["id: no usable id (text or integer)"])
        return str(value)

    def _updated_at(self, raw: dict[str, Any], external_id: str) -> datetime | None:
        try:
            value = self.updated_at_rule.evaluate(raw)
            return None if value is None else parse_datetime(value)
        except (_FieldFailure, ValueError) as exc:
            raise self._invalid(external_id, [f"updated_at: {exc}"]) from None

    def _predicate(self, predicate: Source, raw: dict[str, Any], external_id: str) -> bool:
        try:
            return _truthy(predicate(raw))
        except _FieldFailure as exc:
            raise self._invalid(external_id, [f"condition: {exc}"]) from None

    def _target_for(self, raw: dict[str, Any], external_id: str) -> _Target:
        for target in self.targets:
            if target.when is None or self._predicate(target.when, raw, external_id):
                return target
        raise self._invalid(external_id, ["no target's 'when' condition matches the record"])

    def _field_values(
        self, target: _Target, raw: dict[str, Any], external_id: str
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        reasons: list[str] = []
        with counting_drops() as drops:
            for rule in target.fields:
                seen = len(drops)
                try:
                    value = rule.evaluate(raw)
                except _FieldFailure as exc:
                    reasons.append(f"{rule.name}: {exc}")
                    continue
                if len(drops) > seen:
                    self._report_drops(rule.name, drops[seen:], external_id)
                # No value: leave the field out so the model's own default applies, and a
                # required field is reported as missing.
                if value is not None:
                    values[rule.name] = value
        if reasons:
            raise self._invalid(external_id, reasons)
        return values

    def _report_drops(self, field_name: str, kinds: list[str], external_id: str) -> None:
        if kinds:
            # INFO, not WARNING: messy contact data is normal, and nothing is lost (the sealed
            # raw record keeps the value); a warning per record would drown real problems.
            log.info(
                "stream %s, record %s: dropped %d invalid %s value(s) of field %s",
                self.name,
                external_id,
                len(kinds),
                kinds[0],
                field_name,
            )


def _validation_reasons(exc: ValidationError) -> list[str]:
    """Pydantic's errors as 'field: message [type]', without the input values it would quote."""
    reasons = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(part) for part in error["loc"]) or "record"
        reasons.append(f"{where}: {error['msg']} [{error['type']}]")
    return reasons
