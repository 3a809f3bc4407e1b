"""The ceiling of this stack: a bare FastAPI + psycopg endpoint that runs the same SQL as Luoshi's 我的任务.

bench/run.py records, in-process, every statement Luoshi sends for one GET /tasks of the measured unit staff
member and, served at /tasks/median, of the median unit's (tenant context, the web session and its user, the
membership and its bureau, the task board's queries),
with their parameters, and pickles them to the file named by BENCH_BARE_SQL. This app replays them, in the same
order, in one transaction on a pooled connection as the same RLS-bound role, fetches every row, and returns the
board's rows as JSON. No ORM, no templates, no middleware, no authentication: what is left is uvicorn, FastAPI's
routing, psycopg and PostgreSQL, so Luoshi's throughput divided by this one is what the framework, the ORM, the
checks and the rendering cost.

    BENCH_BARE_SQL=bench/results/bare-sql.pickle BENCH_BARE_DATABASE_URL=postgresql://luoshi_app:…@…/luoshi_bench_run \\
        .venv/bin/uvicorn bench.bare_app:app --workers 2 --port 8001
"""

from __future__ import annotations

import json
import os
import pickle
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from psycopg_pool import AsyncConnectionPool


def _statements(variable: str) -> list[tuple[str, dict | tuple | None]]:
    if not os.environ.get(variable):
        return []
    with open(os.environ[variable], "rb") as f:
        return pickle.load(f)  # noqa: S301 — our own file, written by bench/run.py


STATEMENTS = _statements("BENCH_BARE_SQL")  # the busiest unit's 我的任务 (a full page of cards)
MEDIAN_STATEMENTS = _statements("BENCH_BARE_SQL_MEDIAN")  # the median unit's, a few cards


pool = AsyncConnectionPool(os.environ["BENCH_BARE_DATABASE_URL"], min_size=2, max_size=10, open=False)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    await pool.open(wait=True)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


async def _replay(statements: list[tuple[str, dict | tuple | None]]) -> Response:
    results: list[list[tuple]] = []
    async with pool.connection() as conn, conn.transaction():
        for sql, params in statements:
            cursor = await conn.execute(sql, params)
            results.append(await cursor.fetchall() if cursor.description else [])
    rows = results[-2] if len(results) > 1 else results[-1]  # the board's task rows (the last is their units)
    return Response(json.dumps({"tasks": rows, "units": results[-1]}, default=str, ensure_ascii=False),
                    media_type="application/json")


@app.get("/tasks")
async def my_tasks() -> Response:
    return await _replay(STATEMENTS)


@app.get("/tasks/median")
async def my_tasks_median() -> Response:
    return await _replay(MEDIAN_STATEMENTS)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
