"""Mapping and sealing in worker processes (``sync_workers``, issue 15).

A page takes two round trips to a worker, both before the page's transaction:

1. :func:`_prepare` (raw records in): the worker maps the page and computes content hashes
   and blind indexes (:func:`hub.pages.prepare_page`), keeps the prepared page, and sends back
   only what the parent's database step needs: whose customer keys to resolve and which
   records' stored hashes to read.
2. :func:`_seal` (those customer keys and stored hashes in): the worker seals the page
   (:func:`hub.pages.seal_page`) and sends back sealed rows, sealed quarantine entries, and
   for each record found unchanged its prepared plaintext (the transaction seals it only if
   its stored copy moved meanwhile, and a full refresh compares it with the stored copy).

Everything else stays in the parent, in order and exactly as in process: the subject-key
select, the stored-hash read, ``_without_forgotten_since``, the page transaction with
``confirm_primaries``, the KeyringStale retry. The two round trips overlap the parent's work:
a page's first is sent as soon as the page is read, and its second just before the page
before it commits (the stored hashes read that early are safe: see
:meth:`hub.sync.StreamSync._before_sealing`), so the worker seals a page while the parent
writes the one before. Results are awaited strictly in page order. A page read while its
worker still has two tasks unfinished is mapped in process instead: the parent takes its
share of the pages when the worker falls behind.

Each worker is a process of its own (one single-process executor per worker, so a page's two
round trips reach the same process), forked from the multiprocessing forkserver (never from
the running event loop and its aiosqlite threads). Key material reaches a worker only through
its pipe: the primary data and index keys when they change (a keyring reload), and with each
seal the customer keys of that page. A worker that dies (OOM kill, SIGKILL) costs only the
pages it held: the parent maps and seals those again in process, logs a warning, and
starts a fresh worker for the next pages.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hub.errors import HubError
from hub.gc_tuning import tune_for_sync
from hub.mapping import StreamMapping, find_mapping
from hub.pages import MappedPage, PreparedPage, prepare_page, seal_page
from hub.store.quarantine import QuarantineRow
from hub.store.records import RecordRow, Tombstone
from hub.vault.data_key import DataKey, SubjectKey
from hub.vault.keyring import Keyring
from hub.vault.sealing import PreparedRecord
from hub.vault.subjects import Resolved

__all__ = [
    "MappingRef",
    "Prepared",
    "Sealed",
    "SyncWorkers",
    "WorkerDied",
    "WorkerGone",
    "as_mapped",
    "generation_of",
    "worker_count",
]

log = logging.getLogger(__name__)

_KEPT = 32  # prepared pages a worker holds at most (in flight, or left by a stopped run)
_SUBJECTS_KEPT = 2048  # customers' keys a worker keeps between pages (as the keyring does)
_WATCH_SECONDS = 0.5  # how often a worker checks that the hub's process still runs
# Tasks a worker may have unfinished for a newly read page to go to it: more, and the page
# is mapped in process (the worker is behind). 2 measured best: with 1 the worker idled, with 3
# it took more pages, for more CPU and no less time.
_BACKLOG = 2
_RESTARTS = 3  # workers that may die in one hub before it maps and seals in process only

Generation = tuple[int, int]
"""Which keys a worker seals with: the ids of the primary data and index keys."""


def worker_count(setting: int | Literal["auto"]) -> int:
    """How many worker processes ``sync_workers`` asks for.

    "auto" is what the measurements justify (docs/performance.md, "The pipeline (issue 15,
    fourth part)"), today none on any machine: with the second core free (``hub bench sync
    --phases saved``) one worker syncs 11-13 % faster, but with that core busy (the sandbox on
    it) it buys no wall time, costs 12-20 % more CPU per record, and ~120 MB more memory (PSS):
    worth it only where an operator knows a core and the memory are free.
    """
    return 0 if setting == "auto" else setting


class WorkerGone(HubError):
    """A worker cannot map or seal this page (it lost the page, or loads another version of
    the mapping): the parent does it in process."""


class WorkerDied(WorkerGone):
    """The worker process ended (killed, out of memory) while it held the page."""


@dataclass(frozen=True)
class MappingRef:
    """How a worker finds a stream's mapping: it loads the same file the parent did (and
    refuses it if the version differs)."""

    connector: str
    dirs: tuple[str, ...]
    stream: str
    version: str


@dataclass(frozen=True)
class _Keys:
    generation: Generation
    keys: tuple[DataKey, DataKey] | None  # the primaries; None when the worker has them


@dataclass(frozen=True)
class Prepared:
    """What the parent learns of a page a worker prepared: the customers whose keys it
    needs (``owners`` created when missing, ``invalid`` only looked up) and the keys of its
    records (for the stored hashes). No personal value."""

    task: int
    generation: Generation
    owners: frozenset[str]
    invalid: frozenset[str]
    keys: frozenset[tuple[str, str]]


@dataclass
class Sealed:
    """A page sealed by a worker; ``unsealed`` are the records found unchanged, with their
    plaintext (the parent builds their :class:`hub.store.records.UnsealedRow`)."""

    rows: list[RecordRow]
    tombstones: list[Tombstone]
    invalid: list[QuarantineRow]
    erased: int
    unsealed: list[PreparedRecord]
    seals: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Usage:
    pid: int
    cpu_seconds: float
    peak_rss_mb: float
    pss_mb: float | None = None  # proportional set size now: shared pages counted once


def pss_mb(pid: int | str = "self") -> float | None:
    """A process's proportional set size now (Linux), in MB: its pages, with those shared
    with other processes (a forkserver and its children) divided among them."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


# -- in the worker process ------------------------------------------------------------------


class _WorkerState:
    """A worker's keyring, mappings and prepared pages (module-level: one per process)."""

    def __init__(self) -> None:
        self.generation: Generation | None = None
        self.keyring: Keyring | None = None
        self.mappings: dict[MappingRef, StreamMapping] = {}
        self.prepared: collections.OrderedDict[int, tuple[PreparedPage, Generation]] = (
            collections.OrderedDict()
        )
        # Customers' keys as last received, so a key that comes again with the next page is
        # the same object, and its cipher (built once per key object) is reused.
        self.subjects: collections.OrderedDict[int, SubjectKey] = collections.OrderedDict()

    def same_keys(self, subjects: Mapping[str, Resolved]) -> dict[str, Resolved]:
        out: dict[str, Resolved] = {}
        for identity, key in subjects.items():
            if isinstance(key, SubjectKey):
                known = self.subjects.get(key.id)
                if known is not None and known.material == key.material:
                    self.subjects.move_to_end(key.id)
                    key = known
                else:
                    self.subjects[key.id] = key
            out[identity] = key
        while len(self.subjects) > _SUBJECTS_KEPT:
            self.subjects.popitem(last=False)
        return out

    def use(self, keys: _Keys) -> Keyring:
        if keys.keys is not None:
            self.keyring, self.generation = Keyring(keys.keys), keys.generation
        if self.keyring is None or self.generation != keys.generation:
            raise WorkerGone("the worker does not hold the keys this page is sealed with")
        return self.keyring

    def mapping(self, ref: MappingRef) -> StreamMapping:
        found = self.mappings.get(ref)
        if found is None:
            try:
                mapping = find_mapping(ref.connector, [Path(d) for d in ref.dirs])
            except HubError as exc:
                raise WorkerGone(f"the worker could not load the mapping: {exc}") from None
            if mapping.version != ref.version:
                raise WorkerGone(
                    f"the worker loaded mapping version {mapping.version} of {ref.connector}, "
                    f"not {ref.version}"
                )
            found = self.mappings[ref] = mapping.stream(ref.stream)
        return found


_state = _WorkerState()


@dataclass
class _Stand:
    """The worker's stand-in for a hub: the pure stages need only its keyring."""

    keyring: Keyring


def _started(hub_pid: int) -> None:
    # Ctrl-C reaches the whole process group: the parent decides what stops, not its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_for_sync()  # the worker maps and seals: the same allocations as a sync in process
    server = os.getppid()  # the forkserver, a child of the hub's process
    if _parent_of(server) == hub_pid:
        threading.Thread(target=_watch, args=(hub_pid, server), daemon=True).start()


def _watch(hub_pid: int, server: int) -> None:
    """End this worker once the hub's process is gone (killed: it could not stop us)."""
    while True:
        time.sleep(_WATCH_SECONDS)
        if os.getppid() != server or _parent_of(server) != hub_pid:
            os._exit(0)


def _parent_of(pid: int) -> int | None:
    """The parent process id of ``pid`` (Linux, from /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _ping() -> int:
    return os.getpid()


def _usage() -> _Usage:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return _Usage(os.getpid(), own.ru_utime + own.ru_stime, own.ru_maxrss / 1024, pss_mb())


def _safe(exc: BaseException) -> BaseException:
    """The exception as in process (same type and message) without its traceback, whose
    frames the parent has no use for; one that does not pickle becomes a HubError that names
    only its type."""
    exc.__traceback__ = None
    exc.__cause__ = exc.__context__ = None
    try:
        pickle.dumps(exc)
    except Exception:
        return HubError(f"{type(exc).__name__} in a sync worker (details withheld)")
    return exc


def _prepare(
    task: int,
    keys: _Keys,
    ref: MappingRef,
    records: list[dict[str, Any]],
    system: str,
    connection: str,
    deleted_ids: list[str],
) -> Prepared | BaseException:
    try:
        keyring = _state.use(keys)
        prepared = prepare_page(
            _Stand(keyring),
            _state.mapping(ref),
            records,
            system=system,
            connection=connection,
            deleted_ids=deleted_ids,
        )
        _state.prepared[task] = (prepared, keys.generation)
        while len(_state.prepared) > _KEPT:
            _state.prepared.popitem(last=False)
        owners, invalid = prepared.subjects()
        return Prepared(
            task, keys.generation, frozenset(owners), frozenset(invalid), prepared.keys()
        )
    except BaseException as exc:
        return _safe(exc)


def _seal(
    task: int,
    keys: _Keys,
    subjects: Mapping[str, Resolved],
    stored: Mapping[tuple[str, str], str] | None,
) -> Sealed | BaseException:
    try:
        found = _state.prepared.pop(task, None)
        if found is None:
            raise WorkerGone("the worker no longer holds the page it prepared")
        prepared, generation = found
        keyring = _state.use(keys)
        if generation != keys.generation:
            raise WorkerGone("the page was prepared with keys since replaced")
        mapped = seal_page(_Stand(keyring), prepared, _state.same_keys(subjects), stored=stored)
        return Sealed(
            rows=mapped.rows,
            tombstones=mapped.tombstones,
            invalid=mapped.invalid,
            erased=mapped.erased,
            unsealed=[u.source for u in mapped.unsealed if isinstance(u.source, PreparedRecord)],
            seals=keyring.take_seals(),
        )
    except BaseException as exc:
        return _safe(exc)


def _discard(tasks: list[int]) -> None:
    for task in tasks:
        _state.prepared.pop(task, None)


# -- in the hub's process ---------------------------------------------------------------------


@dataclass
class _Worker:
    executor: ProcessPoolExecutor
    ready: asyncio.Future[int]  # the first task: the process is up once it is done
    sent: Generation | None = None  # the keys this worker holds
    # Set when the process died: it takes no more tasks and is replaced on next use.
    broken: bool = False
    unfinished: int = 0  # tasks sent that it has not finished


def generation_of(keyring: Keyring) -> Generation:
    return (keyring.primary("data").id, keyring.primary("index").id)


class SyncWorkers:
    """One hub's worker processes, shared by every stream it syncs (``hub run``'s too).

    Started lazily on the first page of at least ``min_records`` records; until a worker is
    up, pages are mapped and sealed in process (:meth:`ready` says whether one is).
    """

    def __init__(self, count: int, *, min_records: int) -> None:
        self.count = count
        self.min_records = min_records
        self._workers: list[_Worker | None] = [None] * count
        self._tasks = itertools.count(1)
        self._turn = itertools.cycle(range(count))
        self._deaths = 0
        self._closed = False
        self._usage: list[_Usage] = []  # of workers shut down or replaced
        self.pages = 0  # pages committed as a worker sealed them (counted by the sync)

    @property
    def usable(self) -> bool:
        return self.count > 0 and not self._closed and self._deaths < _RESTARTS

    def wanted(self, records: int) -> bool:
        """Whether a page of ``records`` records goes to a worker (one is started if none
        is yet; until it is up, False)."""
        if not self.usable or records < self.min_records:
            return False
        return any(self._free(w) for w in map(self._worker, range(self.count)))

    def _free(self, worker: _Worker) -> bool:
        return self._up(worker) and worker.unfinished < _BACKLOG

    async def start(self) -> list[int]:
        """Start every worker now and wait until each is up; their process ids."""
        return list(await asyncio.gather(*(self._worker(i).ready for i in range(self.count))))

    def _up(self, worker: _Worker) -> bool:
        return worker.ready.done() and not worker.ready.cancelled() and not worker.broken

    def _worker(self, index: int) -> _Worker:
        worker = self._workers[index]
        if worker is None or worker.broken:
            if worker is not None:
                worker.executor.shutdown(wait=False, cancel_futures=True)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["hub.sync_workers"])
            executor = ProcessPoolExecutor(
                1, mp_context=context, initializer=_started, initargs=(os.getpid(),)
            )
            ready = asyncio.wrap_future(_submit(executor, _ping))
            ready.add_done_callback(_quiet)
            worker = self._workers[index] = _Worker(executor, ready)
        return worker

    def _pick(self) -> tuple[int, _Worker]:
        for _ in range(self.count):
            index = next(self._turn)
            worker = self._worker(index)
            if self._free(worker):
                return index, worker
        raise WorkerGone("no sync worker is up and free")

    def _keys(self, worker: _Worker, keyring: Keyring) -> _Keys:
        generation = generation_of(keyring)
        if worker.sent == generation:
            return _Keys(generation, None)
        worker.sent = generation
        return _Keys(generation, (keyring.primary("data"), keyring.primary("index")))

    def prepare(
        self,
        keyring: Keyring,
        ref: MappingRef,
        records: Sequence[dict[str, Any]],
        *,
        system: str,
        connection: str,
        deleted_ids: Sequence[str],
    ) -> asyncio.Future[tuple[int, Prepared]]:
        """Send a page to a worker to map; the future gives the worker's index and what the
        parent needs for the page's database step (WorkerGone if the worker died)."""
        index, worker = self._pick()
        task = next(self._tasks)
        submitted = self._send(
            worker,
            _prepare,
            task,
            self._keys(worker, keyring),
            ref,
            list(records),
            system,
            connection,
            list(deleted_ids),
        )
        return asyncio.ensure_future(self._prepared(index, worker, submitted))

    async def _prepared(
        self, index: int, worker: _Worker, submitted: Future[Any]
    ) -> tuple[int, Prepared]:
        prepared: Prepared = await self._result(index, worker, submitted)
        return index, prepared

    def seal(
        self,
        index: int,
        prepared: Prepared,
        keyring: Keyring,
        subjects: Mapping[str, Resolved],
        stored: Mapping[tuple[str, str], str] | None,
    ) -> asyncio.Future[Sealed]:
        """Send the page ``prepared`` describes to the worker that prepared it, to seal now;
        the future gives the sealed page (WorkerGone if the worker died)."""
        worker = self._workers[index]
        try:
            if worker is None or worker.broken:
                raise WorkerGone("the worker that prepared the page is gone")
            submitted = self._send(
                worker, _seal, prepared.task, self._keys(worker, keyring), dict(subjects), stored
            )
        except WorkerGone as exc:
            gone: asyncio.Future[Sealed] = asyncio.get_running_loop().create_future()
            gone.set_exception(exc)
            return gone
        return asyncio.ensure_future(self._result(index, worker, submitted))

    def discard(self, held: Sequence[tuple[int, int]]) -> None:
        """Let workers drop pages they prepared that will not be sealed: (worker, task)."""
        by_worker: dict[int, list[int]] = {}
        for index, task in held:
            by_worker.setdefault(index, []).append(task)
        for index, tasks in by_worker.items():
            worker = self._workers[index]
            if worker is not None and not worker.broken and not self._closed:
                with contextlib.suppress(RuntimeError, BrokenProcessPool):
                    _submit(worker.executor, _discard, tasks).add_done_callback(_quiet)

    def _send(self, worker: _Worker, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Submit a task to ``worker``; WorkerDied if its process already ended."""
        try:
            submitted = _submit(worker.executor, fn, *args)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._lost(worker, exc)
            raise WorkerDied("the sync worker process ended before it took the page") from None
        worker.unfinished += 1
        return submitted

    async def _result(self, index: int, worker: _Worker, submitted: Future[Any]) -> Any:
        try:
            result = await asyncio.wrap_future(submitted)
        except (BrokenProcessPool, RuntimeError) as exc:  # RuntimeError: shut down meanwhile
            self._lost(worker, exc)
            raise WorkerDied("the sync worker process ended while it held the page") from None
        finally:
            worker.unfinished -= 1
        if isinstance(result, BaseException):
            raise result
        return result

    def _lost(self, worker: _Worker, exc: BaseException) -> None:
        if worker.broken:
            return
        worker.broken = True
        worker.sent = None
        self._deaths += 1
        if isinstance(exc, BrokenProcessPool):
            log.warning(
                "a sync worker process ended unexpectedly (killed, or out of memory); the "
                "pages it held are mapped and sealed in this process instead%s",
                ""
                if self.usable
                else f", and after {self._deaths} such ends every page is from now on",
            )

    async def usage(self) -> list[_Usage]:
        """CPU time and peak RSS of every worker process this hub ran (live ones asked)."""
        live = [w for w in self._workers if w is not None and self._up(w)]
        asked = [asyncio.wrap_future(_submit(w.executor, _usage)) for w in live]
        found = await asyncio.gather(*asked, return_exceptions=True)
        return [*self._usage, *(u for u in found if isinstance(u, _Usage))]

    async def pids(self) -> list[int]:
        """The process ids of the workers that are up (for tests)."""
        return [u.pid for u in await self.usage()]

    async def close(self) -> None:
        """Stop every worker (the hub is closing); pages still held are dropped."""
        if self._closed:
            return
        with contextlib.suppress(Exception):
            self._usage = await self.usage()
        self._closed = True
        workers = [w for w in self._workers if w is not None]
        self._workers = [None] * self.count
        for worker in workers:
            await asyncio.to_thread(worker.executor.shutdown, wait=True, cancel_futures=True)


def _submit(executor: ProcessPoolExecutor, fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """``executor.submit``, with the parent's ``__main__`` hidden while it may start the
    worker: a started process would otherwise import the parent's main module again (the
    CLI, with its HTTP client), as multiprocessing does for spawned processes."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        return executor.submit(fn, *args)
    finally:
        sys.modules["__main__"] = main


def _quiet(future: asyncio.Future[Any] | Future[Any]) -> None:
    """Retrieve a background future's outcome, so an exception is not reported as unseen."""
    if not future.cancelled():
        future.exception()


def as_mapped(sealed: Sealed, unsealed: list[Any]) -> MappedPage:
    """The :class:`MappedPage` the page transaction takes, from a worker's result."""
    return MappedPage(
        rows=sealed.rows,
        tombstones=sealed.tombstones,
        invalid=sealed.invalid,
        erased=sealed.erased,
        unsealed=unsealed,
    )
