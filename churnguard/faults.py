"""Faults an operator can fix, said in one line: what happened and what to do (the CLI exits 2).

Anything not recognised here is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno

from common.files import Busy
from common.settings import Settings

_NO_SPACE = ("no space left on device", "disk is full", "database or disk is full")
_LOCKED = ("database is locked", "database table is locked")
# What SQLAlchemy quotes of a statement on the queue store: its tables (outreach/tables.py) or the
# BEGIN IMMEDIATE every write of it opens with on SQLite (outreach/store.py); MLflow emits neither.
_QUEUE_STATEMENTS = ("outreach_", "begin immediate")


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every error it was raised from or during."""
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def operator_fault(error: BaseException, settings: Settings, job: str) -> str | None:
    """One line for a fault the operator can fix, or None for anything else."""
    from features.warehouse import WarehouseBusy

    for cause in _chain(error):
        text = str(cause).lower()
        if isinstance(cause, Busy | WarehouseBusy):
            return str(cause)
        if (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or any(
            words in text for words in _NO_SPACE
        ):
            return (
                f"{job} stopped: no space left on the disk holding {settings.home_dir}; nothing "
                "it was writing was kept (the warehouse, queues and published snapshot are as "
                "they were): free some space and run it again"
            )
        if any(words in text for words in _LOCKED):
            if any(marker in text for marker in _QUEUE_STATEMENTS):
                return (
                    f"{job} stopped: the queue database {settings.queue_database_url} is locked by "
                    "another process (another daily, or agents' queue commands writing to it); "
                    "wait for it to finish and run again"
                )
            return (
                f"{job} stopped: the MLflow store {settings.tracking_uri} is locked by another "
                "process (another train, promote or an MLflow UI writing to it); wait for it to "
                "finish and run again"
            )
    return None
