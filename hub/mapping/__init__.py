"""Declarative mappings: turn raw vendor records into canonical models.

A mapping file (``mappings/<connector>.yaml``, reference in ``docs/mappings.md``) says, per
stream, which canonical model a record becomes and how each field is obtained. The file is
validated and compiled once when it loads (expressions compiled, transforms bound), so
applying it, which happens for every record of every sync, does no parsing at all. Every
problem found at load time is a :class:`MappingError` naming the file and line; every problem
with one record is a :class:`RecordInvalid` whose message names fields, never values.

The package follows a file through loading: ``yaml_lines`` reads it with line numbers,
``spec`` validates its structure, ``compile`` turns it into rules built from ``sources``,
``apply`` maps records with them, and ``load`` ties these together.
"""

from hub.mapping.apply import MappedRecord, StreamMapping, Tombstone
from hub.mapping.load import Mapping, find_mapping, load_mapping

__all__ = [
    "MappedRecord",
    "Mapping",
    "StreamMapping",
    "Tombstone",
    "find_mapping",
    "load_mapping",
]
