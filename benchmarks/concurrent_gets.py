"""Concurrent document reads: AsyncCloudantV1 on one event loop against CloudantV1 in a
thread pool.

    .venv/bin/python benchmarks/concurrent_gets.py                       # 10 000 gets, 3 runs
    .venv/bin/python benchmarks/concurrent_gets.py --gets 2000 --concurrency 10,100
    .venv/bin/python benchmarks/concurrent_gets.py --quick               # a smoke run

Each run reads ``--gets`` documents one ``GET /{db}/{id}`` at a time, ``--concurrency``
of them in flight: ``async`` runs that many tasks on one event loop through one
``AsyncCloudantV1``; ``threads`` runs a ``ThreadPoolExecutor`` of that many threads
sharing one ``CloudantV1`` (the synchronous way to have as many requests in flight).
The server is the one of ``benchmarks/run.py``: a PouchDB Server in memory started here
(on a CPU of its own), or ``CLOUDANT_URL``. Every run checks what it read (a checksum).

Reported per mode and concurrency (medians of ``--repeat`` runs, the modes alternating):
wall time, gets per second, and the client process's CPU time per get
(``time.process_time()``: every thread of this process, not the server). A table is
printed and written with the runs to ``benchmarks/results/concurrent-gets.json`` (and
``.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # run.py, beside this file

from run import RESULTS, Server, database_name, machine, make_rows, odm_client, timed  # noqa: E402

MODES = ("threads", "async")


def async_client(server: Server) -> Any:
    from cloudant_odm.aio import AsyncCloudantV1
    from cloudant_odm.client import BasicAuthenticator, NoAuthAuthenticator

    auth = BasicAuthenticator(*server.auth) if server.auth else NoAuthAuthenticator()
    client = AsyncCloudantV1(auth)
    client.set_service_url(server.url)
    return client


def doc_ids(rows: list[tuple[Any, ...]], gets: int) -> list[str]:
    """The ids to read, in order: every document in turn, round and round."""
    return [rows[i % len(rows)][0] for i in range(gets)]


def threads_run(server: Server, db: str, ids: list[str], concurrency: int) -> Callable[[], Any]:
    client = odm_client(server)

    def read(doc_id: str) -> int:
        return int(client.get_document(db, doc_id).get_result()["n"])

    def run() -> tuple[int, int]:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            values = list(pool.map(read, ids))
        client.close()
        return len(values), sum(values)

    return run


def async_run(server: Server, db: str, ids: list[str], concurrency: int) -> Callable[[], Any]:
    async def main() -> tuple[int, int]:
        async with async_client(server) as client:
            todo = iter(ids)
            total = count = 0

            async def worker() -> None:
                nonlocal total, count
                for doc_id in todo:  # shared: each id is taken by one worker
                    doc = (await client.get_document(db, doc_id)).get_result()
                    total += int(doc["n"])
                    count += 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count, total

    return lambda: asyncio.run(main())


RUNS = {"threads": threads_run, "async": async_run}


def measure(
    server: Server, db: str, ids: list[str], concurrency: int, repeat: int, expected: int
) -> dict[str, Any]:
    runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for rep in range(repeat):
        for mode in MODES if rep % 2 == 0 else MODES[::-1]:
            wall, cpu, count, total = timed(RUNS[mode](server, db, ids, concurrency))
            if (count, total) != (len(ids), expected):
                raise RuntimeError(f"{mode}: read {count} (sum {total}), expected {len(ids)}")
            runs[mode].append((wall, cpu))
            print(
                f"  concurrency {concurrency:>4} {mode:<8} run {rep + 1}: {wall:6.2f} s wall, "
                f"{cpu:6.2f} s CPU, {len(ids) / wall:7.0f} gets/s, "
                f"{1e6 * cpu / len(ids):6.1f} µs CPU/get",
                flush=True,
            )
    results: dict[str, Any] = {}
    for mode in MODES:
        wall = statistics.median(w for w, _ in runs[mode])
        cpu = statistics.median(c for _, c in runs[mode])
        results[mode] = {
            "wall_s": round(wall, 4),
            "cpu_s": round(cpu, 4),
            "gets_per_s": round(len(ids) / wall),
            "cpu_us_get": round(1e6 * cpu / len(ids), 2),
            "runs": [{"wall_s": round(w, 4), "cpu_s": round(c, 4)} for w, c in runs[mode]],
        }
    base = results["threads"]
    for row in results.values():
        row["throughput_vs_threads"] = round(row["gets_per_s"] / base["gets_per_s"], 2)
        row["cpu_vs_threads"] = round(row["cpu_us_get"] / base["cpu_us_get"], 2)
    return results


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"### concurrent gets: {report['gets']} GET /{{db}}/{{id}} of {report['docs']} "
        "small documents",
        "",
        "| in flight | client | wall s | gets/s | CPU µs/get | gets/s ÷ threads | CPU ÷ threads |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for concurrency, results in report["results"].items():
        for mode, row in results.items():
            lines.append(
                f"| {concurrency} | {mode} | {row['wall_s']} | {row['gets_per_s']} | "
                f"{row['cpu_us_get']} | {row['throughput_vs_threads']} | "
                f"{row['cpu_vs_threads']} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000, help="distinct documents (1000)")
    parser.add_argument("--gets", type=int, default=10000, help="reads per run (10000)")
    parser.add_argument("--concurrency", default="10,100", help="in flight, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode (3)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 gets, once")
    parser.add_argument("--no-pin", action="store_true", help="don't pin server and client")
    parser.add_argument("--out", type=Path, default=RESULTS / "concurrent-gets.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.gets, args.repeat = 50, 200, 1
    levels = [int(c) for c in args.concurrency.split(",")]
    try:
        import cloudant_odm.aio  # noqa: F401
    except ImportError as exc:
        parser.error(str(exc))

    server = Server(pin=not args.no_pin)
    db = database_name("gets")
    try:
        rows = make_rows(args.docs)
        server.load(db, rows)
        ids = doc_ids(rows, args.gets)
        expected = sum(i % args.docs for i in range(args.gets))  # document i has n = i
        results = {str(c): measure(server, db, ids, c, args.repeat, expected) for c in levels}
    finally:
        server.drop(db)
        server.stop()
    report = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "docs": args.docs,
        "gets": args.gets,
        "repeat": args.repeat,
        "pinned": server.pinned,
        "machine": machine(),
        "results": results,
    }
    table = markdown(report)
    print("\n" + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table)
    print(f"wrote {args.out} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
