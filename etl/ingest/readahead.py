"""Read the batch's next file while the warehouse loads this one: checksum, encoding, parse, cast and the checks that
need no warehouse (rejects.cell_checks) run on one worker thread, one file ahead of the ingest.

The ingest spent half its time in polars and pyarrow (reading, casting, checking a file) and half in DuckDB (the
dedupe and insert of the file), one after the other, on a machine with two cores: a file's SQL left the second core
idle while the next file waited to be read. Both libraries release the GIL, so reading file N+1 on a thread while
file N is loaded overlaps the two halves.

Nothing the ingest decides moves here: the worker computes only what is a pure function of the file's bytes, and
hands it over in the order the ingest asked for it before (digest, then the SourceFile, then the chunks); an error
is raised in the ingest at the point where the same call would have raised it, so accounting, quarantine and
rejection are unchanged. What needs the warehouse (unchanged or not, reference checks, dedupe, load) stays on the
ingest's thread, the only one that touches DuckDB. A file already ingested with the same bytes (as the worker sees
the log, `Readahead.done`) is only checksummed: a refresh with nothing new reads no file. A file is read ahead
at most one chunk beyond the one being loaded, so memory grows by one chunk (readers.CHUNK_ROWS rows).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

from etl.contract import schemas, tables
from etl.ingest import cast, readers, rejects


class Prepared(NamedTuple):
    """One chunk of a file, cast and checked as far as it can be without the warehouse."""

    chunk: readers.Chunk
    typed: cast.CastResult
    checks: rejects.CellChecks


def prepare(chunk: readers.Chunk, table: tables.Table, ts: schemas.TableSchema) -> Prepared:
    typed = cast.cast_frame(chunk.frame, table)
    return Prepared(chunk, typed, rejects.cell_checks(chunk.frame, typed, ts, table))


def prepared_chunks(src: readers.SourceFile, chunk_rows: int, ts: schemas.TableSchema) -> Iterator[Prepared]:
    """A file's chunks prepared on the calling thread (a file not read ahead)."""
    table = tables.TABLES[src.table]
    for chunk in readers.iter_chunks(src, chunk_rows):
        yield prepare(chunk, table, ts)


class _Failed(NamedTuple):
    error: BaseException


_END = object()
# The worker reads up to this many files beyond the one being loaded, and starts a chunk only while fewer rows than
# half a chunk wait to be loaded: small files (a month of tickets) flow several ahead, a large one (the 8M-row rating
# export at scale 25) one chunk ahead, so memory grows by at most one and a half chunks.
AHEAD_FILES = 4


class Budget:
    """Rows read ahead and not yet taken by the ingest, shared by the batch's files (the worker waits on it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0
        self.cond = threading.Condition()

    def give_back(self, rows: int) -> None:
        with self.cond:
            self.waiting -= rows
            self.cond.notify_all()


def _rows(p: Prepared) -> int:
    return p.chunk.frame.height + 1  # an empty chunk counts too


class FileRead:
    """A file's digest, SourceFile and prepared chunks, each computed on the worker thread (`run`) or, when the
    worker did not (not read ahead, or skipped as already ingested), on the caller's thread when first asked for."""

    def __init__(self, path: Path, name: str, known: tuple[str, int] | None, ts: schemas.TableSchema | None,
                 chunk_rows: int, done: set[tuple[str, str | None]] | None = None,
                 budget: Budget | None = None) -> None:  # fmt: skip
        self.path, self.name, self.known, self.ts, self.chunk_rows = path, name, known, ts, chunk_rows
        self.table = tables.table_for_file(path.name)
        self._done = done
        self._items: queue.Queue[Any] = queue.Queue()  # digest, source, chunks..., _END (or _Failed), in order
        self._budget = budget or Budget(chunk_rows // 2 + 1)
        self._cancelled = False
        self._ahead = done is not None  # run() is (or will be) called on the worker
        self._digest: tuple[str, int] | None = None
        self._source: readers.SourceFile | None = None

    # ------------------------------------------------------------------------------------------- worker side
    def run(self) -> None:
        """On the worker: digest, source and chunks into the queue, stopping when the caller gives the file up."""
        if self._cancelled:
            self._items.put(_END)
            return
        try:
            digest = self.known if self.known is not None else readers.checksum(self.path)
        except BaseException as e:  # noqa: BLE001 - handed to the caller, raised where it asks for the digest
            self._items.put(_Failed(e))
            return
        self._items.put(digest)
        if self._done is not None and (digest[0], self.table) in self._done:
            self._items.put(_END)  # the same bytes were ingested: 'unchanged', nothing to read (the caller decides)
            return
        try:
            src = readers.inspect_file(self.path, self.name, digest=digest)
        except BaseException as e:  # noqa: BLE001
            self._items.put(_Failed(e))
            return
        self._items.put(src)
        table = tables.TABLES[src.table]
        assert self.ts is not None
        chunks: Iterator[readers.Chunk] = iter(())
        try:  # every way out puts _END or _Failed: the caller waits for one of them
            chunks = readers.iter_chunks(src, self.chunk_rows)
            budget = self._budget
            while True:
                with budget.cond:
                    budget.cond.wait_for(lambda: self._cancelled or budget.waiting < budget.limit)
                if self._cancelled:
                    break
                chunk = next(chunks, None)
                if chunk is None:
                    break
                p = prepare(chunk, table, self.ts)
                with budget.cond:  # under the lock: a chunk is either counted and queued, or dropped on cancel
                    if self._cancelled:
                        break
                    budget.waiting += _rows(p)
                    self._items.put(p)
            self._items.put(_END)
        except BaseException as e:  # noqa: BLE001
            self._items.put(_Failed(e))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def cancel(self) -> None:
        """The caller will take nothing more: the worker stops before its next chunk, and the chunks it queued are
        dropped (their rows given back to the budget, or the worker would wait for them for ever)."""
        with self._budget.cond:
            self._cancelled = True
            dropped = 0
            while True:
                try:
                    item = self._items.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Prepared):
                    dropped += _rows(item)
            self._budget.waiting -= dropped
            self._budget.cond.notify_all()

    # ------------------------------------------------------------------------------------------- caller side
    def _take(self) -> Any:
        item = self._items.get()
        if isinstance(item, _Failed):
            self._ahead = False  # the worker stopped: nothing more will come from it
            raise item.error
        if item is _END:
            self._ahead = False
        return item

    def digest(self) -> tuple[str, int]:
        """(sha256, size), as readers.checksum (or the known digest); raises what it raises."""
        if self._ahead:
            got = self._take()
            if got is not _END:
                self._digest = got
        if self._digest is None:
            self._digest = self.known if self.known is not None else readers.checksum(self.path)
        return self._digest

    def source(self) -> readers.SourceFile:
        """The file identified, as readers.inspect_file; raises what it raises."""
        assert self._digest is not None, "digest() first"
        if self._ahead:
            got = self._take()
            if got is not _END:
                self._source = got
        if self._source is None:
            self._source = readers.inspect_file(self.path, self.name, digest=self._digest)
        return self._source

    def chunks(self) -> Iterator[Prepared]:
        """The file's prepared chunks, in order; a reader's error is raised where its chunk would have come."""
        assert self._source is not None and self.ts is not None, "source() first"
        if not self._ahead:
            yield from prepared_chunks(self._source, self.chunk_rows, self.ts)
            return
        while True:
            got = self._take()
            if got is _END:
                return
            self._budget.give_back(_rows(got))  # the worker may read on while this one is loaded
            yield got

    def close(self) -> None:
        """Give the file up (taken whole, unchanged, rejected or failed): the worker moves to the next file."""
        if self._ahead:
            self.cancel()


class Readahead:
    """The batch's files in load order, each read ahead on one worker thread while the one before it is loaded.

    `take(path, name)` returns the file's FileRead and schedules the next AHEAD_FILES files of the order (the worker
    reads them one after the other, as far as the row budget lets it). The first file, and a file taken again (a group
    replayed file by file after a failure), are read on the caller's thread, as before."""

    def __init__(self, items: Sequence[tuple[Path, str]], chunk_rows: int, schema_for: Any,
                 checksums: Mapping[str, tuple[str, int]] | None, done: set[tuple[str, str | None]]) -> None:  # fmt: skip
        self.items = list(items)
        self._at = {item: i for i, item in enumerate(self.items)}
        self.chunk_rows = chunk_rows
        self.schema_for = schema_for  # table name -> its TableSchema (built on the caller's thread)
        self.checksums = checksums
        self.done = done  # (sha256, table) of files ingested (loaded or partial): not read ahead
        self._pending: dict[tuple[Path, str], FileRead] = {}
        self._scheduled: set[tuple[Path, str]] = set()
        self._budget = Budget(chunk_rows // 2 + 1)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="govindex-readahead")

    def _known(self, path: Path) -> tuple[str, int] | None:
        return self.checksums.get(str(path.resolve())) if self.checksums else None

    def _read(self, item: tuple[Path, str], ahead: bool) -> FileRead:
        path, name = item
        table = tables.table_for_file(path.name)
        ts = self.schema_for(table) if table in tables.TABLES else None
        return FileRead(path, name, self._known(path), ts, self.chunk_rows, self.done if ahead else None,
                        self._budget if ahead else None)

    def _schedule(self, item: tuple[Path, str]) -> None:
        if item in self._scheduled:
            return
        self._scheduled.add(item)
        read = self._read(item, ahead=True)
        self._pending[item] = read
        self._pool.submit(read.run)

    def take(self, path: Path, name: str) -> FileRead:
        item = (path, name)
        read = self._pending.pop(item, None)
        self._scheduled.add(item)
        if read is None:  # the first file, or one taken again: read on the caller's thread
            read = self._read(item, ahead=False)
        at = self._at.get(item)
        if at is not None:
            for nxt in self.items[at + 1 : at + 1 + AHEAD_FILES]:
                self._schedule(nxt)
        return read

    def close(self) -> None:
        """Stop the worker (files scheduled but never taken are not read)."""
        for read in self._pending.values():
            read.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
