"""API fuzzing: schemathesis generates requests for every operation of /api/v1/openapi.json and sends them with a
bureau member's API token. No request may end in a 5xx, and every response must be one the document declares:
its status code, content type, headers and JSON body.

How it runs: the app, its database engine and its Redis client live on pytest's one event loop, so the requests
must be sent on that loop. Hypothesis (which is synchronous) runs in a worker thread; each example serialises its
case with schemathesis, hands the request to the loop (`run_coroutine_threadsafe`) and waits for the answer, which
schemathesis then validates. Every operation that writes gets a bureau of its own and the reads share one, so the
tests are independent of their order; `derandomize` makes the generated cases the same on every run. Path parameters
that name a row are the bureau's real rows half of the time, so the routes are reached beyond "not found".
"""

import asyncio
import uuid
from collections.abc import Callable

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import SQLModel, col, select

from backend.accounts.models import ApiToken
from backend.accounts.service import create_api_token
from backend.core.roles import Role
from backend.db import unit_of_work
from backend.evidence.models import Evidence
from backend.plans.models import PlanImport
from backend.reports.models import ProgressReport
from backend.tasks.models import Task
from backend.tenancy.models import Membership, Unit
from backend.web import create_app
from tests.support.fixtures import ROLES, create_bureau, make_client

SCHEMA = schemathesis.openapi.from_dict(create_app().openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Path parameters that name a row, and the table the row is taken from.
ROWS: dict[str, type[SQLModel]] = {"task_id": Task, "report_id": ProgressReport, "evidence_id": Evidence,
                                   "unit_id": Unit, "membership_id": Membership, "token_id": ApiToken,
                                   "import_id": PlanImport}
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 10}


async def test_the_fuzzed_schema_is_the_served_one(client):
    served = await client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.json() == SCHEMA.raw_schema
    assert len(OPERATIONS) > 40 and all(op.path.startswith("/api/v1/") for op in OPERATIONS)


async def _fuzz_bureau() -> tuple[dict[str, list[uuid.UUID]], dict[Role, str]]:
    """A bureau taken once round the loop; the ids of its rows by path parameter, and a token per role."""
    bureau = await create_bureau(whole_loop=True)
    async with unit_of_work(bureau.tenant.id) as session:
        rows = {name: list((await session.exec(select(model.id).where(col(model.tenant_id) == bureau.tenant.id)
                                                .order_by(col(model.id)))).all())
                for name, model in ROWS.items() if name != "unit_id"}
        rows["unit_id"] = [unit.id for unit in bureau.units.values()]
        tokens = {role: (await create_api_token(session, bureau.actors[role], name="模糊测试"))[1] for role in ROLES}
    return rows, tokens


def _has_inputs(operation) -> bool:
    return bool(operation.definition.raw.get("parameters") or operation.definition.raw.get("requestBody"))


def _as_request(kwargs: dict) -> httpx.Request:
    """The bytes a requests-based client would send, as an httpx request."""
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return httpx.Request(prepared.method, prepared.url, headers=dict(prepared.headers), content=body or b"")


def _fuzz(operation, mode: GenerationMode, send: Callable[[dict], httpx.Response],
          rows: dict[str, list[uuid.UUID]], tokens: dict[Role, str]) -> None:
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None, print_blob=False,
              phases=[Phase.explicit, Phase.generate, Phase.shrink],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        for name in list(case.path_parameters or {}):
            if rows.get(name):
                choice = data.draw(st.none() | st.sampled_from(rows[name]), label=name)
                if choice is not None:
                    case.path_parameters[name] = str(choice)
        role = data.draw(st.sampled_from(ROLES), label="role")
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        response = send(case.as_transport_kwargs(base_url="http://testserver", headers=headers))
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()


@pytest.fixture(scope="module")
def shared_bureau() -> dict:
    """Reads change nothing, so the operations without side effects share one bureau (made by the first)."""
    return {}


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
async def test_operation_conforms_to_the_schema(operation, shared_bureau):
    # Writes get a bureau of their own: what one operation changes never decides another's outcome.
    if operation.method.upper() in {"GET", "HEAD", "OPTIONS"}:
        if not shared_bureau:
            shared_bureau["made"] = await _fuzz_bureau()
        rows, tokens = shared_bureau["made"]
    else:
        rows, tokens = await _fuzz_bureau()
    loop = asyncio.get_running_loop()
    async with make_client(create_app()) as client:

        async def send(kwargs: dict) -> httpx.Response:
            client.cookies.clear()  # a script keeps no cookies: only the bearer token authenticates
            return await client.send(_as_request(kwargs))

        def send_from_thread(kwargs: dict) -> httpx.Response:
            return asyncio.run_coroutine_threadsafe(send(kwargs), loop).result(timeout=120)

        for mode in EXAMPLES:
            if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                continue  # nothing to send wrong
            await asyncio.to_thread(_fuzz, operation, mode, send_from_thread, rows, tokens)
