"""The peers' virtual environment: created on first use, reused while nothing it depends on changed.

``.logiflow/peers-venv`` (git-ignored with the rest of ``.logiflow/``) gets the pinned
``requirements.txt`` beside this file, plus this repository installed editable with
``--no-deps``: the peers call the project's own pure functions (:mod:`bench.work`) without
Faust, aiokafka or anything else of the project's dependencies. A new venv is checked: the
peers' modules must import in it without pulling Faust or aiokafka. It is rebuilt when the
requirements, the base Python or the repository path change (a stamp file records them).

``python -m bench.peers.venv`` creates (or reuses) it and prints its interpreter.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".logiflow" / "peers-venv"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
PEER_MODULES = ("bench.peers.confluent_loop", "bench.peers.quix_app")
# Importing the peers must not bring these in: the work is the project's pure code only.
FORBIDDEN = ("faust", "mode", "aiokafka", "reportlab")
INSTALL_TIMEOUT_S = 900.0


def _stamp() -> str:
    text = "\n".join([REQUIREMENTS.read_text(), sys.version.split()[0], str(REPO)])
    return hashlib.sha256(text.encode()).hexdigest()


def python_of(venv: Path = VENV) -> Path:
    return venv / "bin" / "python"


def ensure(venv: Path = VENV, log: bool = True) -> Path:
    """The peers' interpreter; creates the venv when missing or stale."""
    python, stamp = python_of(venv), venv / "logiflow-peers.stamp"
    wanted = _stamp()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if log:
        print(f"creating the peers' venv {venv} (once; pip install -r {REQUIREMENTS.name})",
              flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "-r", str(REQUIREMENTS)])
    _run([*pip, "--no-deps", "-e", str(REPO)])
    check(python)
    stamp.write_text(wanted)
    return python


def check(python: Path) -> None:
    """The peers import in ``python`` without Faust or aiokafka (raises otherwise)."""
    probe = ("import importlib, sys\n"
             f"for name in {PEER_MODULES!r}: importlib.import_module(name)\n"
             f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
             "sys.exit(f'the peers import {bad}' if bad else 0)\n")
    _run([str(python), "-c", probe])


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n"
                           f"{done.stdout[-2000:]}{done.stderr[-3000:]}")


if __name__ == "__main__":
    print(ensure())
