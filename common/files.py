"""Local state on disk: run locks, unique temporary files renamed into place, private modes.

Jobs that share a store take a lock first (`run_lock`): a second one is refused at once with who
holds it ("another ingest is running (pid N since T)"), never left to crash on the store's own
lock. Files are written to a temporary name unique to the writer and renamed into place, so two
writers never share a half-written file and a reader sees the old file or the new one.
State is for its owner only: folders 0700, files 0600.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


class Busy(RuntimeError):
    """Another process holds the lock; the message names it and says what to do."""


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if missing; a folder this creates is 0700."""
    missing = []
    current = Path(path)
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask
    return Path(path)


def private_file(path: Path) -> Path:
    """Make an existing file readable by its owner only (a store a library created 0644)."""
    if path.exists():
        os.chmod(path, PRIVATE_FILE_MODE)
    return path


def _holder(handle: IO[str]) -> str:
    handle.seek(0)
    text = handle.read().strip()
    return text or "pid unknown"


@contextmanager
def run_lock(path: Path, what: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block; Busy when another process holds it for
    longer than `wait_seconds`. The lock dies with its process (flock), so a killed job leaves none."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    handle = os.fdopen(fd, "r+")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"another {what} is running ({_holder(handle)}); wait for it to finish, "
                        f"or stop it, then run again (lock: {path})"
                    ) from None
                time.sleep(0.05)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}")
        handle.flush()
        yield
    finally:
        handle.close()


def write_atomically(path: Path, write: Callable[[Path], object], mode: int = 0o644) -> Path:
    """Call `write(temporary)` on a name unique to this writer next to `path`, then rename it
    into place; on any failure the temporary file is removed and `path` is as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(path: Path, text: str, mode: int = 0o644) -> Path:
    """`write_atomically` for text, flushed to disk before the rename."""

    def write(temporary: Path) -> None:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())

    return write_atomically(path, write, mode)
