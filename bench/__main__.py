"""`make bench`: run every benchmark in turn and record the figures in docs/benchmarks.md.

Each benchmark is a module of this package that runs on its own (`python -m bench.<name>`) and
prints its figures; this runner runs them one after another (they share the machine's two
cores, so never in parallel), prints their output, and replaces the "latest run" block of
docs/benchmarks.md with it, stamped with the date and the machine.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench:latest -->", "<!-- /bench:latest -->"
ORDER = ["backend_bench", "report_bench", "live_bench", "push_bench", "device_bench", "chat_bench"]


def machine() -> str:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {python}"


def main() -> int:
    selected = sys.argv[1:] or [name for name in ORDER if (Path(__file__).parent / f"{name}.py").exists()]
    sections, failed = [], False
    for name in selected:
        print(f"== bench.{name}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, capture_output=True, text=True)
        output = result.stdout.strip()
        print(output)
        if result.returncode != 0:
            failed = True
            print(result.stderr[-3000:], file=sys.stderr)
            output += f"\n(failed with exit code {result.returncode})"
        sections.append(f"### {name} ({time.monotonic() - started:.0f} s)\n\n```\n{output}\n```\n")
    stamp = f"Run on {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {machine()}.\n\n"
    block = f"{BEGIN}\n{stamp}" + "\n".join(sections) + f"{END}"
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\n## Latest run\n\n"
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text += block + "\n"
    REPORT.write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
