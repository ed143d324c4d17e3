"""Load test of the scoring service: single comments at 1, 8 and 32 concurrent clients.

Starts ``moderation serve`` on a free loopback port with the given model (default: the shipped
``models/default``), waits until it is ready, then for each concurrency level runs that many
asyncio clients in a closed loop (each sends its next request on its keep-alive connection
when the last one is answered) for a bounded number of requests and time. Prints requests/s,
latency percentiles, the mean micro-batch size the server formed (from its /metrics) and the
server's resident memory.

    python bench/load_test.py --model models/default
    python bench/load_test.py --model DIR --concurrency 1,8,32 --requests 600 --workers 1

Two more scenarios, in place of the levels:

    python bench/load_test.py --scenario fairness   # one comment at a time while a 4,000-comment upload is scored
    python bench/load_test.py --scenario memory     # four 31 MB single-comment uploads at once

``fairness`` uploads a thread of ``--upload-comments`` comments of about 1,100 characters (the
size of the 4.7 MB, 4,000-comment export that once held the model for 50 s), and meanwhile sends
one comment at a time, a tenth of a second apart, to /v1/score: it prints their latency and
the upload's time. ``memory`` sends ``--uploads`` uploads of one ``--upload-mb`` MB comment at
once and prints the server's peak memory while they were answered.

The client runs on the same machine as the server and takes CPU from it (little: it speaks
HTTP/1.1 on raw asyncio streams), so figures are for the pair, on loopback; the load average
printed with them says how busy the machine was otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from moderation.backends import BACKENDS, default_backend  # noqa: E402
from moderation.modeldir import default_model_dir  # noqa: E402

# Comments of everyday length (10 to 80 words), written for this benchmark.
COMMENTS = [
    "Thanks for the update, the new timetable works much better for us.",
    "I really doubt the council has thought this through. Where is the money supposed to come from?",
    "This is the dumbest article I have read all week, and the author clearly has no idea what a ferry costs.",
    "We walked the river path on Sunday and the new benches are lovely. Well done to the volunteers who "
    "built them, it must have taken weeks.",
    "People like you are the reason nothing ever changes in this town.",
    "Does anyone know whether the market will still open on Saturdays during the roadworks? The article "
    "does not say and the council website has not been updated since March.",
    "Absolute rubbish. Sack the lot of them.",
    "My grandmother took that ferry every day for forty years. Closing it would cut the east bank off from "
    "the clinic, the school and the shops, and the bus detour adds almost an hour each way. I hope the "
    "councillors who voted for the budget cut will explain themselves at the next public meeting.",
    "Good point, though I think the second half of the piece undersells how much the tourist season helps.",
    "Typical. They always find money for their own offices but never for the people who actually live here.",
    "Can we please keep the comments civil? There are real families affected by this decision.",
    "lol",
]


@dataclass
class Level:
    clients: int
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_batch: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory (MB) of ``pid`` and its children (uvicorn workers)."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    rss = peak = 0.0
    for p in pids:
        status = Path(f"/proc/{p}/status").read_text()
        rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
        peak += int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return rss, peak


def reset_peak_memory(pid: int) -> None:
    """Start the processes' peak resident memory (VmHWM) afresh, where Linux allows it."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for p in [pid] + ([int(c) for c in children.read_text().split()] if children.exists() else []):
        with contextlib.suppress(OSError):
            Path(f"/proc/{p}/clear_refs").write_text("5")


def batch_totals(url: str) -> tuple[float, float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    count = re.search(r"^moderation_model_batch_size_count (\S+)$", text, re.M)
    total = re.search(r"^moderation_model_batch_size_sum (\S+)$", text, re.M)
    return (float(count.group(1)) if count else 0.0, float(total.group(1)) if total else 0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams. A few lines of parsing cost the
    client far less CPU per request than a full client library, so on a shared machine the
    figures measure the server rather than the client."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if length is None:
            raise ConnectionError("response without Content-Length")
        await self.reader.readexactly(int(length.group(1)))
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def run_level(port: int, clients: int, requests: int, max_seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + max_seconds
    bodies = [json.dumps({"text": text}).encode() for text in COMMENTS]

    async def one_client(offset: int) -> None:
        nonlocal errors, sent
        connection = Connection(port)
        i = offset
        try:
            while sent < requests and time.perf_counter() < deadline:
                sent += 1
                start = time.perf_counter()
                try:
                    ok = await connection.post("/v1/score", bodies[i % len(bodies)]) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    await connection.close()
                    connection = Connection(port)
                latencies.append(time.perf_counter() - start)
                errors += not ok
                i += clients
        finally:
            await connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in range(clients)))
    elapsed = time.perf_counter() - start
    return latencies, errors, elapsed


async def fairness(port: int, comments: int) -> dict[str, float]:
    """One comment at a time while an upload of ``comments`` long comments is scored."""
    long_comment = " ".join(COMMENTS)[:1100]
    upload = json.dumps({"source": "bench", "comments": [
        {"id": str(i), "text": f"{i} {long_comment}"} for i in range(comments)]}).encode()
    uploader = Connection(port)
    start = time.perf_counter()
    task = asyncio.create_task(uploader.post("/v1/threads", upload))
    await asyncio.sleep(1.0)  # read, parsed and queued by now
    client = Connection(port)
    latencies: list[float] = []
    errors = 0
    i = 0
    while not task.done():  # each one sent while the upload is being scored
        sent = time.perf_counter()
        errors += await client.post("/v1/score", json.dumps({"text": COMMENTS[i % len(COMMENTS)]}).encode()) != 200
        latencies.append(time.perf_counter() - sent)
        i += 1
        await asyncio.sleep(0.1)
    status = await task
    upload_s = time.perf_counter() - start
    await client.close()
    await uploader.close()
    return {"upload_bytes": len(upload), "upload_status": status, "upload_s": round(upload_s, 1),
            "singles": len(latencies), "single_errors": errors,
            "single_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "single_p95_ms": round(percentile(latencies, 95) * 1000, 1),
            "single_max_ms": round(max(latencies) * 1000, 1)}


async def big_uploads(port: int, uploads: int, megabytes: float) -> list[int]:
    """Status of each of ``uploads`` uploads of one comment of ``megabytes`` MB, sent at once."""
    words = int(megabytes * 1_000_000) // 5
    body = json.dumps({"source": "bench", "comments": [{"id": "1", "text": "word " * words}]}).encode()
    connections = [Connection(port) for _ in range(uploads)]
    statuses = await asyncio.gather(*(c.post("/v1/threads", body) for c in connections))
    for connection in connections:
        await connection.close()
    return list(statuses)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.terminate()
    sys.exit(f"the server was not ready within {timeout:.0f} s:\n{log.read_text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(default_model_dir()), help="model directory (default: models/default)")
    parser.add_argument("--concurrency", default="1,8,32", help="client counts, comma-separated")
    parser.add_argument("--requests", type=int, default=600, help="requests per level")
    parser.add_argument("--max-seconds", type=float, default=60, help="time limit per level")
    parser.add_argument("--warmup", type=int, default=30, help="requests before measuring")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="model threads per worker (MODERATION_THREADS)")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="MODERATION_BACKEND (default: the service's, onnx where installed)")
    parser.add_argument("--precision", choices=("int8", "fp32"), help="MODERATION_PRECISION")
    parser.add_argument("--max-wait-ms", type=float, help="micro-batch wait (MODERATION_MAX_WAIT_MS)")
    parser.add_argument("--scenario", choices=("load", "fairness", "memory"), default="load",
                        help="load: the concurrency levels (default); fairness: one comment at a time "
                        "during a big upload; memory: big uploads at once")
    parser.add_argument("--upload-comments", type=int, default=4000, help="fairness: comments in the upload")
    parser.add_argument("--uploads", type=int, default=4, help="memory: uploads sent at once")
    parser.add_argument("--upload-mb", type=float, default=31, help="memory: size of each upload's comment")
    parser.add_argument("-o", "--output", help="also save the results as JSON")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    if not (Path(args.model) / "config.json").is_file():
        sys.exit(f"no model at {args.model}: pass --model DIR")

    load_before = os.getloadavg()[0]  # other work on the machine skews every figure
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MODERATION_ACCESS_LOG": "false", "MODERATION_RATE_LIMIT": "0"}
    if args.threads:
        env["MODERATION_THREADS"] = str(args.threads)
    if args.max_wait_ms is not None:
        env["MODERATION_MAX_WAIT_MS"] = str(args.max_wait_ms)
    for name in ("backend", "precision"):
        if getattr(args, name):
            env[f"MODERATION_{name.upper()}"] = getattr(args, name)
    log = Path(tempfile.mkstemp(prefix="moderation-serve-", suffix=".log")[1])
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "moderation.cli", "serve", "--model", args.model, "--port", str(port),
             "--workers", str(args.workers)],
            cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    results: list[Level] = []
    try:
        started = time.perf_counter()
        wait_ready(url, process, log, timeout=300)
        ready_s = time.perf_counter() - started
        idle_rss, _ = memory_mb(process.pid)
        if args.scenario != "load":
            return other_scenario(args, process, port, idle_rss, load_before)
        asyncio.run(run_level(port, 4, args.warmup, 60))
        for clients in levels:
            before = batch_totals(url)
            latencies, errors, elapsed = asyncio.run(run_level(port, clients, args.requests, args.max_seconds))
            after = batch_totals(url)
            calls, texts = after[0] - before[0], after[1] - before[1]
            results.append(Level(
                clients=clients, requests=len(latencies), errors=errors, seconds=round(elapsed, 2),
                rps=round(len(latencies) / elapsed, 1),
                p50_ms=round(statistics.median(latencies) * 1000, 1),
                p95_ms=round(percentile(latencies, 95) * 1000, 1),
                p99_ms=round(percentile(latencies, 99) * 1000, 1),
                mean_batch=round(texts / calls, 2) if calls else 0.0,
            ))
        rss, peak = memory_mb(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()

    backend = env.get("MODERATION_BACKEND") or default_backend()
    print(f"model: {args.model}; backend: {backend}"
          f"{'-' + env.get('MODERATION_PRECISION', 'int8') if backend == 'onnx' else ''}; "
          f"workers: {args.workers}; cores: {os.cpu_count()}; "
          f"load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f}; "
          f"ready in {ready_s:.1f} s; single comments of {min(map(len, COMMENTS))}-"
          f"{max(map(len, COMMENTS))} characters")
    print()
    print("| clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | mean batch |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.clients} | {r.requests} | {r.errors} | {r.rps} | {r.p50_ms} | {r.p95_ms} | "
              f"{r.p99_ms} | {r.mean_batch} |")
    print()
    print(f"server memory (RSS): {idle_rss:.0f} MB when ready, {rss:.0f} MB after the run, "
          f"{peak:.0f} MB peak")
    if args.output:
        Path(args.output).write_text(json.dumps({
            "model": args.model, "workers": args.workers, "ready_s": round(ready_s, 1),
            "rss_mb": {"ready": round(idle_rss), "after": round(rss), "peak": round(peak)},
            "levels": [asdict(r) for r in results]}, indent=2) + "\n")
    return 1 if any(r.errors for r in results) else 0


def other_scenario(args: argparse.Namespace, process: subprocess.Popen[bytes], port: int, idle_rss: float,
                   load_before: float) -> int:
    """The fairness or memory scenario on the started server; prints and saves its figures."""
    asyncio.run(run_level(port, 2, args.warmup, 60))
    reset_peak_memory(process.pid)
    if args.scenario == "fairness":
        result: dict[str, object] = dict(asyncio.run(fairness(port, args.upload_comments)))
    else:
        statuses = asyncio.run(big_uploads(port, args.uploads, args.upload_mb))
        result = {"uploads": args.uploads, "upload_mb": args.upload_mb, "statuses": statuses}
    rss, peak = memory_mb(process.pid)
    result.update({"rss_ready_mb": round(idle_rss), "rss_after_mb": round(rss), "rss_peak_mb": round(peak)})
    print(f"model: {args.model}; scenario: {args.scenario}; cores: {os.cpu_count()}; "
          f"load average before/after: {load_before:.1f}/{os.getloadavg()[0]:.1f}")
    for name, value in result.items():
        print(f"{name}: {value}")
    if args.output:
        Path(args.output).write_text(json.dumps({"model": args.model, "scenario": args.scenario, **result},
                                                indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
