"""Running the project's commands as a person would, and what a refusal must look like."""

from __future__ import annotations

import os
import subprocess
import sys

from testkit.paths import REPO


def run_module(module: str, *args: str, unset: str, env: dict | None = None,
               timeout: float = 30) -> subprocess.CompletedProcess:
    """``python -m module args`` in a child process from the repository, without the
    developer's settings whose names start with ``unset`` (plus ``env``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, env=clean,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_one_error_line(result: subprocess.CompletedProcess, *words: str,
                          quiet: bool = False) -> None:
    """Exit status 1 and one ``error: ...`` line holding ``words``, no traceback (and,
    ``quiet``, nothing on standard output)."""
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    if quiet:
        assert result.stdout == "", result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]
