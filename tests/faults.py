"""Fault injection for tests: make the n-th file-system call or database commit fail, or every one from then on.

Watched calls are the ones a change to the corpus or a publish is made of:
`os.replace`, `os.rename`, `os.fsync`, `os.unlink`, `os.mkdir`, `os.rmdir`,
`os.open` (how a folder is fsynced), `os.symlink`, a file opened for writing
(raising ENOSPC, as a full disk does) and the commit of a database transaction
(failing before it, or after it as a dropped connection does). They share one
counter, so running an operation with n = 1, 2, … until it no longer reaches
the n-th call fails each of its steps in turn.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from index.storage.database import CorpusDatabase

OS_CALLS = ("replace", "rename", "fsync", "unlink", "mkdir", "rmdir", "open", "symlink")


class InjectedFault(OSError):
    """The failure the harness injects (an OSError, as the disk would give)."""


class Faults:
    """Counts the watched calls; the `fail_at`-th fails, and with `dead` every later one too."""

    def __init__(self, fail_at: int, dead: bool = False) -> None:
        self.fail_at = fail_at
        self.dead = dead
        self.calls = 0
        self.failed: list[str] = []
        self.armed = True

    def hit(self, what: str) -> bool:
        if not self.armed:
            return False
        self.calls += 1
        failing = self.calls == self.fail_at or (self.dead and self.calls > self.fail_at)
        if failing:
            self.failed.append(what)
        return failing

    @property
    def reached(self) -> bool:
        """Whether the operation got as far as the call that was to fail."""
        return self.calls >= self.fail_at


@contextmanager
def injected(monkeypatch: pytest.MonkeyPatch, faults: Faults, commits: bool = True) -> Iterator[Faults]:
    """Install the faults for the duration of the block; `faults.armed = False` disarms them early."""
    with monkeypatch.context() as patch:
        for name in OS_CALLS:
            patch.setattr(os, name, _failing(getattr(os, name), f"os.{name}", faults))
        real_open = Path.open

        def open_(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(flag in mode for flag in "wax+") and faults.hit(f"write {path.name}"):
                raise InjectedFault(errno.ENOSPC, "No space left on device (injected)", str(path))
            return real_open(path, mode, *args, **kwargs)

        patch.setattr(Path, "open", open_)
        if commits:
            real_transaction = CorpusDatabase.transaction

            @contextmanager
            def transaction(self: CorpusDatabase) -> Iterator[Any]:
                with real_transaction(self) as conn:
                    yield conn
                    if faults.hit("commit"):
                        raise OperationalError("COMMIT", {}, Exception("database is locked (injected)"))
                if faults.hit("after commit"):  # committed, but the caller never heard so
                    raise OperationalError("COMMIT", {}, Exception("connection lost (injected)"))

            patch.setattr(CorpusDatabase, "transaction", transaction)
        yield faults


def _failing(call: Callable[..., Any], name: str, faults: Faults) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if faults.hit(name):
            raise InjectedFault(errno.EIO, f"Input/output error (injected in {name})")
        return call(*args, **kwargs)

    return wrapper


def each_step(
    monkeypatch: pytest.MonkeyPatch,
    prepare: Callable[[], Any],
    operation: Callable[[Any], Any],
    check: Callable[[Any, Faults, BaseException | None], None],
    dead: bool = False,
    commits: bool = True,
    limit: int = 500,
) -> int:
    """Run `operation` on a fresh `prepare()` once per watched call, failing that call; `check` after each.

    Returns how many steps were failed in turn (the operation's watched calls)."""
    for n in range(1, limit):
        subject = prepare()
        faults = Faults(n, dead)
        error: BaseException | None = None
        with injected(monkeypatch, faults, commits):
            try:
                operation(subject)
            except Exception as exc:  # what the injected fault became on its way out
                error = exc
            faults.armed = False
        if not faults.reached:
            assert error is None, f"failed with no fault injected: {error!r}"
        check(subject, faults, error)
        if not faults.reached:
            return n - 1
    raise AssertionError(f"the operation made more than {limit} watched calls")
