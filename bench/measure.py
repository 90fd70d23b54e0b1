"""Figures the benchmarks share: percentiles, and CPU and peak memory of the stack's processes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psutil


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_line(name: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name}: n={len(ms)} p50={percentile(ms, 50):.0f} ms p95={percentile(ms, 95):.0f} ms "
        f"p99={percentile(ms, 99):.0f} ms max={max(ms, default=float('nan')):.0f} ms"
    )


@dataclass
class ProcessSampler:
    """Samples CPU time and resident memory (with children) of named processes in a thread."""

    pids: dict[str, int]
    interval: float = 0.5
    peak_rss: dict[str, int] = field(default_factory=dict)
    _cpu_start: dict[str, float] = field(default_factory=dict)
    _cpu_end: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _tree(self, pid: int) -> Iterable[psutil.Process]:
        try:
            root = psutil.Process(pid)
            if pid == os.getpid():  # the bench itself, without the stack it started
                return [root]
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def _cpu(self, pid: int) -> float:
        total = 0.0
        for proc in self._tree(pid):
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def _rss(self, pid: int) -> int:
        total = 0
        for proc in self._tree(pid):
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), self._rss(pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> ProcessSampler:
        self._cpu_start = {name: self._cpu(pid) for name, pid in self.pids.items()}
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._elapsed = time.monotonic() - self._started
        self._cpu_end = {name: self._cpu(pid) for name, pid in self.pids.items()}

    def lines(self) -> list[str]:
        out = []
        for name in self.pids:
            cpu = self._cpu_end.get(name, 0.0) - self._cpu_start.get(name, 0.0)
            share = 100 * cpu / self._elapsed if self._elapsed else 0.0
            peak_mib = self.peak_rss.get(name, 0) / 2**20
            out.append(f"  {name:<11} cpu {cpu:6.1f} s ({share:5.1f}% of a core)  rss {peak_mib:7.0f} MiB")
        return out
