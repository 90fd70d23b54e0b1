"""A private PostgreSQL cluster for a test that must restart its database: initdb into a temporary
directory, served on a free loopback port (trust auth), stopped and started at will.

Uses the machine's PostgreSQL binaries (Debian's `/usr/lib/postgresql/<version>/bin`, or `initdb`
on the PATH); `available()` says why not when they are missing. PostgreSQL refuses to run as root,
so as root the cluster belongs to the `postgres` user, in a directory of its own under the system's
temporary directory (pytest's are private to root).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def _bin_dir() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def available() -> str | None:
    """Why a private cluster cannot run here (None: it can)."""
    if _bin_dir() is None:
        return "PostgreSQL's server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser to start PostgreSQL as the postgres user"
    return None


@dataclass
class PrivatePostgres:
    port: int
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="powerdesk-pg-")))

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        bin_dir = _bin_dir()
        assert bin_dir is not None, available()
        command = [str(bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-o", options, "-l",
                  str(self.directory / "server.log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop at once and delete the cluster."""
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (ending every connection, as a failover or an upgrade does), wait, start again."""
        self.stop()
        time.sleep(down_for)
        self.start()
