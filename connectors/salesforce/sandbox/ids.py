"""Salesforce record ids: a three-character key prefix naming the object, twelve characters of
record number, and the three-character suffix that makes the 18-character form
case-insensitive (https://help.salesforce.com/s/articleView?id=000385585)."""

from __future__ import annotations

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BODY_DIGITS = 12


def checksum(id15: str) -> str:
    """The 18-character suffix of a 15-character id: one letter per five characters, its bits
    saying which of them are upper case."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for offset, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << offset
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def record_id(prefix: str, number: int) -> str:
    """The 18-character id of record ``number`` (from 1) of the object with ``prefix``."""
    id15 = f"{prefix}{number:0{_BODY_DIGITS}d}"
    return id15 + checksum(id15)


def number_of(prefix: str, value: str) -> int | None:
    """The record number inside an id of the object with ``prefix`` (15 or 18 characters, as
    Salesforce accepts both), or None when it is not one."""
    if len(value) not in (15, 18) or not value.startswith(prefix):
        return None
    body = value[len(prefix) : 15]
    if not body.isdigit() or (len(value) == 18 and value[15:] != checksum(value[:15])):
        return None
    return int(body)
