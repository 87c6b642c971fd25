"""Mapping transforms: small functions that turn a vendor value into a canonical one.

A mapping file names transforms in a field's ``transforms`` list. Each built-in here is a
*factory*: it receives the arguments written in the file once, at load time (so a bad argument
is a load error with a line number), and returns the function applied to every record.

Conventions every built-in follows, so a mapping reads the same everywhere:

- ``None`` (the path found nothing) passes through unchanged, except in ``default`` and
  ``list``, whose job is to replace it.
- A transform meant for one value (``int``, ``lower``, ``email``, ``ref``, ``value_map``...)
  applies to each element when it is given a list.
- An invalid value raises :class:`ValueError` with a message that never contains the value,
  so it can go into a quarantine reason as it is.

Plugins add transforms through ``hub_register_transforms``; those are plain functions called
as ``fn(value, *args, **kwargs)`` and are not wrapped by these conventions.
"""

from __future__ import annotations

import contextvars
import email.utils
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import phonenumbers

from hub.vault.blind_index import normalise_email, normalise_phone

Transform = Callable[[Any], Any]
"""A bound transform: arguments already applied, called with the value of one record."""

TransformFactory = Callable[..., Transform]
OnInvalid = Literal["drop", "quarantine"]

_ON_INVALID: tuple[str, ...] = ("drop", "quarantine")

_dropped: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "hub_transform_drops", default=None
)


class TransformSpecError(ValueError):
    """A transform is unknown or its arguments are wrong; the mapping loader adds the line."""


# -- drop accounting ---------------------------------------------------------------------------


class counting_drops:  # named as the function it replaced: ``with counting_drops() as found``
    """Collect, for the duration of the block, the kinds of values that ``on_invalid: drop``
    removed (``"email"``, ``"phone"``; never the values), so the caller can report them.

    A class rather than a ``@contextmanager`` generator: it is entered once per mapped
    record, and a generator-based one cost about as much as mapping a simple field.
    """

    __slots__ = ("_found", "_token")
    _found: list[str]
    _token: contextvars.Token[list[str] | None]

    def __enter__(self) -> list[str]:
        self._found = []
        self._token = _dropped.set(self._found)
        return self._found

    def __exit__(self, *exc: object) -> None:
        _dropped.reset(self._token)


def _note_drop(kind: str) -> None:
    found = _dropped.get()
    if found is not None:
        found.append(kind)


# -- helpers -----------------------------------------------------------------------------------


def _each(fn: Transform) -> Transform:
    """Lift a one-value function over lists and let ``None`` through."""

    def apply(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [None if item is None else fn(item) for item in value]
        return fn(value)

    return apply


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _require_str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} expects text, got {type(value).__name__}")
    return value


def _check_on_invalid(on_invalid: object) -> OnInvalid:
    if on_invalid == "drop":
        return "drop"
    if on_invalid == "quarantine":
        return "quarantine"
    raise TransformSpecError(f"on_invalid must be one of {', '.join(_ON_INVALID)}")


# -- scalar conversions ------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime:
    """ISO-8601 (``Z``, ``+00:00``, ``+0000``), RFC 2822, unix seconds, or a datetime; to UTC."""
    if isinstance(value, bool):
        raise ValueError("datetime expects a timestamp, got bool")
    try:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, (int, float)):
            if not math.isfinite(value):
                raise ValueError("datetime got a non-finite number")
            return datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str):
            parsed = _parse_datetime_text(value.strip())
        else:
            raise ValueError(f"datetime expects text or a number, got {type(value).__name__}")
        # A timestamp without an offset is read as UTC: every vendor we map sends UTC.
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, OSError) as exc:
        raise ValueError("datetime is out of range") from exc


def _parse_datetime_text(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        # RFC 2822 dates, as some vendor APIs write them: "Mon, 16 Aug 2010 03:45:01 +0000".
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError("not an ISO-8601 or RFC 2822 timestamp") from None


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _require_str(value, "date").strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        raise ValueError("not an ISO-8601 date") from None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("int expects a number, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("int got a number with a fraction")
        return int(value)
    text = _require_str(value, "int").strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError("not an integer") from None


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"str expects a scalar, got {type(value).__name__}")


# -- built-in factories ------------------------------------------------------------------------


def datetime_() -> Transform:
    """Parse a timestamp into an aware UTC datetime (see :func:`parse_datetime`)."""
    return _each(parse_datetime)


def date_() -> Transform:
    """Parse an ISO-8601 date (or the date part of a timestamp)."""
    return _each(_parse_date)


def int_() -> Transform:
    """Integers, integral floats and integer strings become ``int``."""
    return _each(_to_int)


_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "min": 60.0}


def seconds(unit: str = "s") -> Transform:
    """A duration in ``unit`` (``ms``, ``s`` or ``min``) to whole seconds, rounded."""
    if unit not in _SECONDS_PER_UNIT:
        raise ValueError(f"seconds: unit must be one of {', '.join(_SECONDS_PER_UNIT)}")
    factor = _SECONDS_PER_UNIT[unit]

    def one(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("seconds expects a number")
        return round(value * factor)

    return _each(one)


def str_() -> Transform:
    """Scalars become text; booleans become ``"true"``/``"false"`` as in JSON."""
    return _each(_to_str)


def lower() -> Transform:
    """Lower-case text."""
    return _each(lambda v: _require_str(v, "lower").lower())


def strip() -> Transform:
    """Trim surrounding whitespace; a blank result becomes ``None`` (no value)."""

    def one(value: Any) -> str | None:
        return _require_str(value, "strip").strip() or None

    return _each(one)


def default(fallback: Any) -> Transform:
    """Replace ``None`` with ``fallback``."""
    return lambda value: fallback if value is None else value


def as_list() -> Transform:
    """Wrap a single value into a list and drop nulls; ``None`` becomes ``[]``."""

    def apply(value: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return [item for item in value if item is not None]
        return [value]

    return apply


def split(separator: str | None = None) -> Transform:
    """Split text into a list of trimmed, non-empty parts (whitespace when no separator)."""
    if separator is not None and (not isinstance(separator, str) or not separator):
        raise TransformSpecError("separator must be non-empty text")

    def apply(value: Any) -> list[str] | None:
        if value is None:
            return None
        parts = _require_str(value, "split").split(separator)
        return [p.strip() for p in parts if p.strip()]

    return apply


def join(separator: str = "") -> Transform:
    """Join the non-null elements of a list into text; an empty list gives ``None``."""
    if not isinstance(separator, str):
        raise TransformSpecError("separator must be text")

    def apply(value: Any) -> str | None:
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        parts = [_to_str(item) for item in items if item is not None]
        return separator.join(parts) if parts else None

    return apply


def ref(object_type: str) -> Transform:
    """Turn a vendor id into a reference ``"<object_type>/<id>"`` to another record."""
    if not isinstance(object_type, str) or not object_type or "/" in object_type:
        raise TransformSpecError("object type must be non-empty text without '/'")

    def one(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"ref expects an id (text or integer), got {type(value).__name__}")
        text = str(value).strip()
        if not text:
            raise ValueError("ref got an empty id")
        return f"{object_type}/{text}"

    return _each(one)


_NO_DEFAULT = object()


def value_map(
    *, values: Mapping[Any, Any], strict: bool = False, default: Any = _NO_DEFAULT
) -> Transform:
    """Translate vendor codes into canonical ones.

    The mapping must choose what an unknown code does: ``strict: true`` makes the record
    invalid (for codes where a guess would be wrong, such as a case status), ``default: X``
    maps it to ``X``. The error names no value, so it is safe even if a code is free text.
    """
    if not isinstance(values, Mapping) or not values:
        raise TransformSpecError("values must be a non-empty mapping")
    if not isinstance(strict, bool):
        raise TransformSpecError("strict must be true or false")
    if strict == (default is not _NO_DEFAULT):
        raise TransformSpecError("give exactly one of 'strict: true' or 'default'")
    table = dict(values)

    def one(value: Any) -> Any:
        if not _is_scalar(value):
            raise ValueError(f"value_map expects a scalar, got {type(value).__name__}")
        if value in table:
            return table[value]
        if strict:
            raise ValueError("value is not in the value_map (strict)")
        return default

    return _each(one)


def _contact(kind: str, normalise: Callable[[str], str], on_invalid: OnInvalid) -> Transform:
    """Shared logic of ``email`` and ``phone``: normalise, and drop or reject invalid values."""

    def one(value: Any) -> str | None:
        if isinstance(value, str) and not value.strip():
            return None  # a blank contact field means "none", not "invalid"
        try:
            return normalise(_require_str(value, kind))
        except ValueError:
            if on_invalid == "quarantine":
                raise ValueError(f"invalid {kind}") from None
            _note_drop(kind)
            return None

    def apply(value: Any) -> Any:
        if isinstance(value, list):
            return [n for n in (one(v) for v in value if v is not None) if n is not None]
        return None if value is None else one(value)

    return apply


def email_(*, on_invalid: str = "drop") -> Transform:
    """Normalise email addresses (``hub.vault.blind_index.normalise_email``)."""
    return _contact("email", normalise_email, _check_on_invalid(on_invalid))


def phone(region: str | None = None, *, on_invalid: str = "drop") -> Transform:
    """Normalise phone numbers to E.164, reading national numbers in ``region`` (e.g. US)."""
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise TransformSpecError("region must be an ISO 3166 code such as 'US'")
    checked = _check_on_invalid(on_invalid)
    return _contact("phone", lambda s: normalise_phone(s, region), checked)


BUILTINS: dict[str, TransformFactory] = {
    "value_map": value_map,
    "default": default,
    "datetime": datetime_,
    "date": date_,
    "int": int_,
    "seconds": seconds,
    "str": str_,
    "lower": lower,
    "strip": strip,
    "email": email_,
    "phone": phone,
    "list": as_list,
    "ref": ref,
    "split": split,
    "join": join,
}


# -- registry ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoundTransform:
    """A transform with its arguments applied, ready for every record.

    ``builtin`` tells the mapping whether the transform's error messages are known to be free
    of values (built-ins) or must be replaced by a generic reason (plugins).
    """

    name: str
    fn: Transform = field(repr=False)
    builtin: bool

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


def _check_signature(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # C functions without a signature: checked when first called
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise TransformSpecError(f"bad arguments ({exc})") from None


class TransformRegistry:
    """Built-in and plugin transforms by name; binds a name and its arguments once."""

    def __init__(self, plugins: Mapping[str, Callable[..., Any]] | None = None) -> None:
        plugins = dict(plugins or {})
        clashes = sorted(set(plugins) & set(BUILTINS))
        if clashes:
            raise TransformSpecError(
                f"plugin transforms clash with built-ins: {', '.join(clashes)}"
            )
        for name, fn in plugins.items():
            if not callable(fn):
                raise TransformSpecError(f"plugin transform {name!r} is not callable")
        self._plugins = plugins

    def names(self) -> list[str]:
        """Every transform a mapping may use."""
        return sorted({*BUILTINS, *self._plugins})

    def bind(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BoundTransform:
        """Apply the arguments written in the mapping file; raise TransformSpecError if wrong."""
        try:
            return self._bind(name, args, kwargs)
        except TransformSpecError as exc:
            raise TransformSpecError(f"transform {name}: {exc}") from None

    def _bind(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BoundTransform:
        if name in BUILTINS:
            factory = BUILTINS[name]
            _check_signature(factory, args, kwargs)
            return BoundTransform(name, factory(*args, **kwargs), builtin=True)
        if name in self._plugins:
            fn = self._plugins[name]
            _check_signature(fn, (None, *args), kwargs)
            return BoundTransform(name, lambda v: fn(v, *args, **kwargs), builtin=False)
        raise TransformSpecError(f"unknown; known transforms: {', '.join(self.names())}")
