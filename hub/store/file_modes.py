"""Who else may read a SQLite hub: its folder and files are found with group or other
permission bits, so that opening the hub can warn about them (and tighten the files) and
``hub check`` can report them. The folder is never changed behind the user's back: it may be
a folder they share on purpose (a project directory holding ``hub.db``), so the fix is theirs.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("hub.store")

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class LoosePath:
    """A path of the hub that users other than its owner may read, list or write."""

    path: Path
    mode: int
    wanted: int

    @property
    def is_folder(self) -> bool:
        return self.wanted == PRIVATE_FOLDER_MODE

    def problem(self) -> str:
        """What is wrong and the command that fixes it (no contents, only the path)."""
        kind = "data folder" if self.is_folder else "database file"
        return (
            f"the {kind} {self.path} is mode {self.mode:04o}, open to other users; "
            f"run `chmod {self.wanted:o} {self.path}`"
        )


def loose_paths(database: Path) -> list[LoosePath]:
    """The database file's folder, the file and its -wal, -shm and -journal companions that
    have any group or other permission bit (missing files are skipped)."""
    found: list[LoosePath] = []
    folder = database.resolve().parent
    candidates = [(folder, PRIVATE_FOLDER_MODE)] + [
        (folder / (database.name + suffix), PRIVATE_FILE_MODE) for suffix in SQLITE_COMPANIONS
    ]
    for path, wanted in candidates:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            found.append(LoosePath(path, mode, wanted))
    return found


def warn_about_loose_paths(database: Path) -> list[LoosePath]:
    """Log a warning for each loose path of ``database`` (the caller then tightens the
    files; the folder stays the user's to fix). Returns what it found."""
    found = loose_paths(database)
    for loose in found:
        if loose.is_folder:
            log.warning("%s", loose.problem())
        else:
            log.warning(
                "the database file %s was mode %04o, open to other users; made it %04o",
                loose.path,
                loose.mode,
                loose.wanted,
            )
    return found
