"""Reads many damaged copies of one Parquet file through the ingest's reader, in a process of its own.

Run by test_damaged_parquet.py as `python -m tests.etl.ingest.damaged_parquet SOURCE COPIES SEED`: a reader that
panics or aborts the process (a Rust allocation failure cannot be caught) shows as this process's exit code.
Prints one JSON line: how many copies were read whole and how many were refused with an error the ingest turns
into a rejection."""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

from etl.ingest import readers


def damage(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def main(source: Path, copies: int, seed: int) -> dict[str, int]:
    data, rng = source.read_bytes(), random.Random(seed)
    read = refused = 0
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / source.name
        for _ in range(copies):
            path.write_bytes(damage(data, rng))
            try:  # what ingest_folder does with a file, up to the typed load
                src = readers.inspect_file(path)
                for chunk in readers.iter_chunks(src):
                    chunk.frame.rows()
                read += 1
            except Exception:  # the ingest's catch-all: the file is rejected and the batch goes on
                refused += 1
    return {"read": read, "refused": refused}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))))
