"""What the test processes on one machine share of the PostgreSQL server besides their own databases."""

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def app_role_turn() -> Iterator[None]:
    """`luoshi migrate` and `luoshi restore` (re)set the application role, which belongs to the server rather than to
    one database: PostgreSQL refuses a second concurrent update of it ("tuple concurrently updated"), so every test
    process on this machine (xdist workers, other runs) takes its turn. Advisory locks would not do: they are per
    database."""
    with open(os.path.join(tempfile.gettempdir(), "luoshi-test-app-role.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
