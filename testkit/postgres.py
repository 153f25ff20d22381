"""A throwaway PostgreSQL server for the tests, and processes that write to a store at once.

``Cluster`` makes a real server from Debian's ``postgresql`` package (``make test`` installs
it): ``initdb`` in a temporary folder, started by ``pg_ctl`` on a free port of 127.0.0.1 with
its unix socket in that folder and trust authentication, restarted or taken down for a while
on request, and stopped and removed after. PostgreSQL refuses to run as root, so as root every
server command runs as the ``postgres`` user (``runuser``), which owns the folder.
``PostgresMissing`` says what to install when the binaries are not there: the tests fail with
it, they never skip.

``write_at_once`` starts processes (spawned, each with its own ``feedback.Store``) that wait
for each other, then all save at once: how the server's worker processes write, for SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import glob
import multiprocessing
import os
import pwd
import queue
import shutil
import subprocess
import tempfile
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .server import HOST, free_port

BINARIES = "/usr/lib/postgresql/*/bin"
USER = "postgres"
# A small drawing in the simplified format: a cat's head, ears and whiskers.
DRAWING = [[[0, 40, 120, 200, 255, 220, 128, 30, 0], [60, 0, 40, 0, 60, 200, 255, 200, 60]],
           [[60, 100], [150, 160]], [[150, 190], [160, 150]]]


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed (or cannot be run here)."""


def binaries() -> Path:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``."""
    found = [Path(folder) for folder in glob.glob(BINARIES)
             if (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file()]
    if not found:
        raise PostgresMissing(
            f"PostgreSQL's server programs are not installed (no initdb and pg_ctl in "
            f"{BINARIES}): run `make test`, which installs Debian's postgresql package, or "
            "`apt-get install postgresql`.")
    return max(found, key=lambda folder: int(folder.parent.name.split(".")[0]))


class Cluster:
    """A PostgreSQL server of its own, on 127.0.0.1, for as long as the tests need it."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.user = pwd.getpwnam(USER)
            except KeyError:
                raise PostgresMissing(f"PostgreSQL cannot run as root, and there is no "
                                      f"'{USER}' user to run it as (Debian's postgresql "
                                      "package makes one).") from None
        self.root: Path | None = None
        self.port = 0
        self._databases = 0

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@{HOST}:{self.port}/{database}"

    def start(self) -> "Cluster":
        self.root = Path(tempfile.mkdtemp(prefix="sketchbook-postgres-"))
        if self.as_root:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self._run(self.bin / "initdb", "-D", self.data, "-U", USER, "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        self.port = free_port()
        self._pg_ctl("start")
        return self

    def restart(self) -> None:
        """Stop the server (cleanly, as an operator would) and start it again."""
        self._pg_ctl("restart", "-m", "fast")

    @contextmanager
    def down(self):
        """The server stopped for the time of a ``with`` block, then started again."""
        self._pg_ctl("stop", "-m", "fast")
        try:
            yield
        finally:
            self._pg_ctl("start")

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        if self.root is None:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        self._databases += 1
        name = f"test_{self._databases}_{os.getpid()}"
        with psycopg.connect(f"host={HOST} port={self.port} user={USER} dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _pg_ctl(self, action: str, *options) -> None:
        server = f"-c listen_addresses={HOST} -p {self.port} -k {self.root}"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60",
                  "-o", server, *options, action)

    def _run(self, *command) -> None:
        command = [str(part) for part in command]
        if self.as_root:
            command = ["runuser", "-u", USER, "--", *command]
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}\n{log}")

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class Outcome:
    """What one writer process did: the ids it saved, and the statuses of its refusals."""

    saved: list[str] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


def write_at_once(url: str, processes: int, saves: int, *, same_client: bool = False,
                  rate: int | None = None, cap: int | None = None,
                  timeout: float = 180.0) -> list[Outcome]:
    """``processes`` spawned processes, each opening its own store at ``url`` (all at once,
    on a database that may be new), then, once all have opened, each saving ``saves``
    drawings as fast as it can: from one client address for all (``same_client``) or from a
    different address for every save."""
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(processes)
    results = context.Queue()
    workers = [context.Process(target=_writer, args=(url, number, saves, same_client, rate,
                                                     cap, ready, results))
               for number in range(processes)]
    for worker in workers:
        worker.start()
    outcomes = []
    try:
        for _ in workers:
            try:
                kind, value = results.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the writers did not finish within {timeout} s") from None
            if kind == "error":
                raise AssertionError(f"a writer process failed:\n{value}")
            outcomes.append(value)
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    return outcomes


def _writer(url, number, saves, same_client, rate, cap, ready, results) -> None:
    from feedback import Rejected, Store, Unavailable

    try:
        store = Store.open(url, rate=rate, cap=cap, secret=b"the tests' key")
        ready.wait(timeout=120)
        outcome = Outcome()
        for save in range(saves):
            client = "198.51.100.7" if same_client else f"10.{number}.{save // 250}.{save % 250}"
            try:
                taught = store.save(drawing=DRAWING, label="cat", guess="dog", confidence=0.5,
                                    model="tiny", model_sha256="0" * 64, client=client)
                outcome.saved.append(taught.id)
            except (Rejected, Unavailable) as refusal:
                outcome.refused.append(refusal.status)
        store.close()
        results.put(("done", outcome))
    except BaseException:
        results.put(("error", traceback.format_exc()))
