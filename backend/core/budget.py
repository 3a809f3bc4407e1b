"""Expensive work on untrusted input (parsing a document, decoding an image) in a child process with a budget.

The event loop never runs it, and neither does a thread of this process: a thread cannot be stopped, and pure
Python work holds the GIL that the event loop needs. The child is forked from multiprocessing's fork server (a
clean process that holds no database connections or event loop), gets an address-space limit, and is killed when
its time is up. The caller gets the result, the exception the work raised, or `BudgetExceeded`.
"""

import errno
import multiprocessing
import resource
from collections.abc import Callable
from typing import Any, TypeVar

import anyio

from backend.errors import InvalidInput

T = TypeVar("T")
_context = multiprocessing.get_context("forkserver")


class BudgetExceeded(Exception):
    """The work took longer than its time, or more memory than its limit; `reason` is "time" or "memory"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _child(conn, fn: Callable[..., Any], args: tuple, memory_bytes: int | None) -> None:
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        outcome = ("ok", fn(*args))
    except MemoryError:
        outcome = ("memory", None)
    except OSError as error:  # the limit also fails a file's mapping or read (importing a module): ENOMEM
        outcome = ("memory", None) if error.errno == errno.ENOMEM else ("error", error)
    except Exception as error:  # noqa: BLE001 — handed to the parent, which raises it there
        outcome = ("error", error)
    try:
        conn.send(outcome)
    except Exception as error:  # noqa: BLE001 — an exception or result that cannot be pickled
        conn.send(("error", RuntimeError(repr(error))))
    conn.close()


def _run(fn: Callable[..., T], args: tuple, seconds: float, memory_bytes: int | None) -> T:
    receiver, sender = _context.Pipe(duplex=False)
    process = _context.Process(target=_child, args=(sender, fn, args, memory_bytes), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise BudgetExceeded("time")
        try:
            kind, value = receiver.recv()
        except EOFError:  # the child died without answering (killed for memory by the kernel, or crashed)
            raise BudgetExceeded("memory") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if kind == "memory":
        raise BudgetExceeded("memory")
    if kind == "error":
        raise value
    return value


async def run_bounded(fn: Callable[..., T], *args: Any, seconds: float, memory_bytes: int | None = None) -> T:
    """`fn(*args)` in a child process, waited for on a worker thread; BudgetExceeded past `seconds` (the child is
    killed) or `memory_bytes` of address space. `fn` and its arguments and result must pickle (module-level)."""
    return await anyio.to_thread.run_sync(_run, fn, args, seconds, memory_bytes, abandon_on_cancel=False)


async def read_upload(fn: Callable[..., T], *args: Any, seconds: float, memory_mb: int, refused: type[Exception],
                      too_slow: Callable[[], str], too_large: Callable[[], str]) -> T:
    """`run_bounded` on a person's upload: what `fn` refuses (a `refused`) and a budget run out are InvalidInput on
    `file`, the budget's with `too_slow()` or `too_large()`, which say what to cut."""
    try:
        return await run_bounded(fn, *args, seconds=seconds, memory_bytes=memory_mb * 2**20)
    except refused as error:
        raise InvalidInput(str(error), field="file") from error
    except BudgetExceeded as error:
        raise InvalidInput(too_slow() if error.reason == "time" else too_large(), field="file") from None
