"""Timing and memory helpers shared by bench.py (product venv) and bench_peers.py (.venv-bench): stdlib + numpy only."""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Callable


def measure(fn: Callable, one: Callable[[int], object], batch: object, batch_size: int, runs: int = 100,
            batch_runs: int = 10, warmup: int = 5, budget_s: float = 30.0) -> dict:
    """Batch-1 latency over `runs` calls cycling through images (median, p90) and batch throughput.

    `one(i)` returns the i-th single-image input; `batch` is the full batch. A slow model stops after `budget_s`
    per phase (with at least 5 latency and 3 batch samples) so peers with second-long latencies stay measurable.
    """
    for i in range(warmup):
        fn(one(i))
    times, start = [], time.perf_counter()
    for i in range(runs):
        x = one(i)
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
        if len(times) >= 5 and time.perf_counter() - start > budget_s:
            break
    fn(batch)
    btimes, start = [], time.perf_counter()
    for _ in range(batch_runs):
        t0 = time.perf_counter()
        fn(batch)
        btimes.append(time.perf_counter() - t0)
        if len(btimes) >= 3 and time.perf_counter() - start > budget_s:
            break
    times.sort()
    return {
        "latency_ms_median": 1000 * statistics.median(times),
        "latency_ms_p90": 1000 * times[min(len(times) - 1, int(0.9 * len(times)))],
        "latency_ms_min": 1000 * times[0],
        "latency_runs": len(times),
        "throughput_img_s": batch_size / statistics.median(btimes),
        "throughput_img_s_best": batch_size / min(btimes),
        "load_avg_1m": os.getloadavg()[0],
        "batch_size": batch_size,
        "batch_runs": len(btimes),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process: VmHWM where /proc exists, else ru_maxrss.

    On Linux, ru_maxrss survives exec: a worker spawned by a 500 MB parent would report at least 500 MB. VmHWM
    belongs to the worker's own address space, so it measures the backend alone.
    """
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(cmd: list[str], timeout: float = 1800) -> dict:
    """Run one measurement in a fresh interpreter (so peak RSS belongs to one backend) and parse its JSON line."""
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed: {tail[:200]}"}
    return json.loads(lines[-1])


def machine() -> dict:
    """CPU model, core count, load average: the context every figure needs (other processes may share the CPUs)."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_avg_1m": os.getloadavg()[0], "python": sys.version.split()[0]}
