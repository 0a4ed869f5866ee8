"""Cost of storing and loading task outputs in the local artifact store.

For a small int (kept inline in its reference), a 1 MiB and a 1 GiB numpy array it prints
the median time of ``put`` + ``get`` (each put writes new content, so nothing is skipped as a
duplicate). The 1 GiB case is compared with plain ``np.save`` + ``np.load(mmap_mode="r")``,
which neither checksums nor fsyncs (the target is at most 1.5 times that), and with the same
plus an fsync, the durability the store pays for; ``get`` beside ``verify``, which hashes every
byte as a reader of another machine or boot does. Each measurement starts after ``os.sync()``
so that write-back left over from the previous one does not slow it.

    python benchmarks/artifacts.py [--dir /tmp] [--repeat 3] [--gib 1.0]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from legato.store.artifacts import FsspecArtifactStore


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def per_op(store: FsspecArtifactStore, make: Callable[[int], Any], n: int) -> list[float]:
    """Seconds of put + get for ``n`` values with different content."""
    times = []
    for i in range(n):
        value = make(i)
        start = time.perf_counter()
        store.get(store.put(value, producer="bench/put#1"))
        times.append(time.perf_counter() - start)
    return times


def _save_durably(path: Path, array: Any) -> None:
    with path.open("wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())


def large(folder: Path, gib: float, repeat: int) -> None:
    n = int(gib * 2**30) // 8
    array = np.random.default_rng(0).random(n)
    label = f"{array.nbytes / 2**30:.2f} GiB float64"
    rows: dict[str, list[float]] = {
        "plain": [],
        "durable": [],
        "put": [],
        "get": [],
        "hashed": [],
    }
    for i in range(repeat):
        array[0] = i  # new content each round: the store cannot skip the write
        for name, save in (("plain", np.save), ("durable", _save_durably)):
            path = folder / f"{name}.npy"
            os.sync()  # start each measurement with nothing left to write back
            t_save, _ = timed(lambda path=path, save=save: save(path, array))
            t_load, loaded = timed(lambda path=path: np.load(path, mmap_mode="r"))
            assert loaded.shape == array.shape
            del loaded
            path.unlink()
            rows[name].append(t_save + t_load)

        root = folder / f"store-{i}"
        store = FsspecArtifactStore(root)
        os.sync()
        t_put, ref = timed(lambda store=store: store.put(array, producer="bench/big#1"))
        t_get, out = timed(lambda store=store, ref=ref: store.get(ref))
        assert isinstance(out, np.memmap)
        assert out.shape == array.shape
        del out
        # What a reader of another machine or boot pays: every byte hashed.
        t_hashed, _ = timed(lambda store=store, ref=ref: store.verify(ref))
        shutil.rmtree(root)
        rows["put"].append(t_put)
        rows["get"].append(t_get)
        rows["hashed"].append(t_hashed)

    plain = statistics.median(rows["plain"])
    durable = statistics.median(rows["durable"])
    put = statistics.median(rows["put"])
    get = statistics.median(rows["get"])
    hashed = statistics.median(rows["hashed"])
    total = put + get
    print(f"{label} (median of {repeat}):")
    print(f"  np.save + np.load(mmap_mode='r')          {plain:7.3f} s")
    print(f"  np.save + fsync + np.load(mmap_mode='r')  {durable:7.3f} s")
    print(f"  store put (hash, write, fsync, rename)    {put:7.3f} s")
    print(f"  store get (verify stamp or checksum, mmap) {get:6.3f} s")
    print(f"  store verify (hash every byte)            {hashed:7.3f} s")
    print(
        f"  store put + get                           {total:7.3f} s"
        f"  = {total / plain:.2f}x np.save, {total / durable:.2f}x np.save + fsync"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="where to write (default: system temp)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gib", type=float, default=1.0, help="size of the large array")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="legato-bench-", dir=args.dir))
    try:
        store = FsspecArtifactStore(folder / "small")
        small = per_op(store, lambda i: i, 2000)
        print(f"small int (inline)     put + get  {statistics.median(small) * 1e6:8.1f} µs")
        mib = np.random.default_rng(1).random(2**20 // 8)

        def one_mib(i: int) -> Any:
            mib[0] = i
            return mib

        medium = per_op(store, one_mib, 50)
        print(f"1 MiB float64 (file)   put + get  {statistics.median(medium) * 1e3:8.2f} ms")
        large(folder, args.gib, args.repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
