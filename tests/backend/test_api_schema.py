"""Schemathesis against the backend's own OpenAPI: no input makes a `/api/v1` route answer 500, and
every answer is one the OpenAPI documents.

For each operation under `/api/v1`, Schemathesis generates valid and invalid requests from the
published schema (boundary values from its coverage phase, then random ones, with a fixed seed) and
sends them in-process to the ASGI app as the admin, on a migrated test database holding the `county`
topology plus an outage, a ticket, an application, a bill and a hand-off. Generated identifiers are
now and then swapped for ones of those rows, so that requests also get past their lookups. The test
fails when an answer
- is a server error (`not_a_server_error`),
- has a status code the operation does not document (`status_code_conformance`),
- has a content type or body that contradicts the documented one (`content_type_conformance`,
  `response_schema_conformance`).
Not `negative_data_rejection`: pydantic's lax mode accepts by design what JSON Schema calls another
type (`0` for `false`, `"5"` for `5`), so that check flags the framework, not the API.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, Config, HookContext
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.core.config import Settings
from backend.main import create_app
from tests.backend.conftest import TOKENS, County, shop_application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = {
    "seed": 20261126,
    "generation": {"max-examples": 15, "deterministic": True, "mode": "all"},
    # Every call is the admin's, who may call every operation: the role checks have their own tests.
    "parameters": {"header.authorization": f"Bearer {TOKENS['powerdesk_admin_token']}"},
}
COUNTY = County()
#: Values naming rows of the test database, by the name of the field or parameter that takes them.
#: The county's are fixed; `api_app` adds those of the rows it creates, whose numbers it learns.
EXISTING: dict[str, list[Any]] = {
    "account_no": [COUNTY.a1, COUNTY.a2, COUNTY.a3, COUNTY.a4],
    "account_nos": [[COUNTY.a1], [COUNTY.a2, COUNTY.a3]],
    "feeder_code": ["F1", "F2"],
    "feeder_codes": [["F1"], ["F1", "F2"]],
    "transformer_code": ["T1", "T3"],
    "transformer_codes": [["T2"]],
    "grid_cell_code": ["C1", "C2"],
    "neighbour_code": ["C2"],
    "worker_code": ["W1", "S1"],
    "code": ["W1", "W3"],
    "phone": [COUNTY.a1_phone],
    "wechat_openid": [COUNTY.a1_openid],
}

# The OpenAPI does not depend on settings; each test calls its own app, on its own database.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(**TOKENS)).openapi(),  # type: ignore[arg-type]
    config=Config.from_dict(CONFIG),
).include(path_regex=r"^/api/v1/")


def naming_existing_rows(ctx: HookContext, values: Any) -> st.SearchStrategy[Any]:
    """`values` as generated, or with some of its identifiers replaced by ones of existing rows."""
    if not isinstance(values, dict):
        return st.just(values)
    choices = {name: st.sampled_from([value, *EXISTING[name]]) for name, value in values.items() if name in EXISTING}
    return st.fixed_dictionaries(choices).map(lambda chosen: values | chosen)


for container in ("path_parameters", "query", "body"):
    schema.hook(f"flatmap_{container}")(naming_existing_rows)


@pytest.fixture
def api_app(settings: Settings, county: County) -> FastAPI:
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {TOKENS['powerdesk_admin_token']}"}
    with TestClient(app, headers=headers) as client:

        def created(path: str, body: dict[str, Any], **extra: str) -> dict[str, Any]:
            r = client.post(f"/api/v1{path}", json=body, headers=extra)
            assert r.status_code in (200, 201), r.text
            answer: dict[str, Any] = r.json()
            return answer

        outage = created(
            "/outages",
            {
                "kind": "fault",
                "cause": "线路故障",
                "starts_at": "2026-01-01T08:00:00+08:00",
                "estimated_restore_at": "2099-01-01T08:00:00+08:00",
                "feeder_codes": ["F2"],
            },
        )
        report = {"account_no": county.a1, "channel": "wechat", "sender_id": "o_x", "description": "家里停电了"}
        ticket = created("/repair-reports", report, **{"Idempotency-Key": "schema-test"})
        application = created("/applications", shop_application(county))
        created("/bills", {"account_no": county.a1, "period": "2026-10", "kwh": 180})
        handoff = created("/handoffs", {"channel": "sms", "sender_id": "13800000009"})
    EXISTING.update(
        outage_id=[outage["id"]],
        ticket_no=[ticket["ticket_no"]],
        application_no=[application["application_no"]],
        handoff_id=[handoff["id"]],
    )
    return app


@schema.parametrize()
# The examples of one operation share its database on purpose, as the requests to a running server do.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_schema(case: Case, api_app: FastAPI) -> None:
    case.call_and_validate(app=api_app, checks=CHECKS)
