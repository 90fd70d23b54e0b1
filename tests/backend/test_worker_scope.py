"""Worker integration tokens see their own grid cell only (backend/topology/scope.py): each token names
its worker (derived from POWERDESK_WORKER_TOKEN), and everything outside the worker's cell is answered
as if it did not exist."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.backend.conftest import TOKENS, County, bearer, speaking_for, worker_bearer


def report(client: TestClient, headers: dict[str, str], key: str, account_no: str) -> str:
    answer = client.post(
        "/api/v1/repair-reports",
        json={"account_no": account_no, "channel": "wechat", "sender_id": "o", "description": "停电"},
        headers=headers | {"Idempotency-Key": key},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["ticket_no"])


def test_the_shared_key_is_no_token_and_a_forged_worker_token_is_refused(client: TestClient, county: County) -> None:
    """Proves the old shared worker token no longer reads anything."""
    assert (
        client.get(
            f"/api/v1/tickets?account_no={county.a1}", headers=bearer(TOKENS["powerdesk_worker_token"])
        ).status_code
        == 401
    )
    forged = worker_bearer("W3")["Authorization"].replace("pdw1.W3.", "pdw1.W1.")
    assert client.get("/api/v1/feeders", headers={"Authorization": forged}).status_code == 401
    assert client.get("/api/v1/feeders", headers=worker_bearer("W1")).status_code == 200


def test_a_worker_reads_its_own_cell_and_nothing_of_another(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    """W1 is in C1 (A1, A2, A4); A3 is in C2. Another cell's customer and a customer that does not
    exist get the same answer."""
    w1 = worker_bearer("W1")
    assert client.get(f"/api/v1/tickets?account_no={county.a1}", headers=w1).status_code == 200
    assert client.get(f"/api/v1/customers/{county.a2}", headers=w1).status_code == 200
    other = client.get(f"/api/v1/tickets?account_no={county.a3}", headers=w1)
    unknown = client.get("/api/v1/tickets?account_no=1999999999", headers=w1)
    assert other.status_code == unknown.status_code == 404
    assert other.json()["code"] == unknown.json()["code"] == "customer_not_found"
    for path in (f"/api/v1/customers/{county.a3}", f"/api/v1/grid-workers?account_no={county.a3}",
                 f"/api/v1/outages?account_no={county.a3}"):  # fmt: skip
        assert client.get(path, headers=w1).status_code == 404, path
    a3_owner = speaking_for("sms:13800000003")  # the assistant, for A3's registered phone
    assert client.get(f"/api/v1/customers/{county.a3}", headers=a3_owner).status_code == 200
    assert client.get("/api/v1/identity?phone=13800000003", headers=w1).status_code == 403


def test_a_worker_moves_only_its_own_tickets(
    client: TestClient, county: County, actions_headers: dict[str, str]
) -> None:
    in_c2 = report(client, actions_headers, "s1", county.a3)  # assigned to W3, backed up by C1's workers
    ticket = client.get(f"/api/v1/tickets/{in_c2}", headers=speaking_for("wechat:o")).json()  # its reporter
    assert ticket["worker"]["code"] == "W3"
    backup = (ticket.get("backup") or {}).get("code")
    outsider = worker_bearer(next(code for code in ("W1", "W2") if code != backup))  # C1, not on the ticket
    assert client.get(f"/api/v1/tickets/{in_c2}", headers=outsider).json()["code"] == "ticket_not_found"
    refused = client.post(f"/api/v1/tickets/{in_c2}/events", json={"type": "accept"}, headers=outsider)
    assert refused.status_code == 404 and refused.json()["code"] == "ticket_not_found"
    as_other = client.post(f"/api/v1/tickets/{in_c2}/events", json={"type": "accept", "worker_code": "W1"},
                           headers=worker_bearer("W3"))  # fmt: skip
    assert as_other.status_code == 403 and as_other.json()["code"] == "not_this_worker"
    accepted = client.post(f"/api/v1/tickets/{in_c2}/events", json={"type": "accept"}, headers=worker_bearer("W3"))
    assert accepted.status_code == 200 and accepted.json()["timeline"][-1]["actor"] == "worker:W3"
    assert client.get("/api/v1/workers/W3/tickets", headers=worker_bearer("W3")).status_code == 200
    assert client.get("/api/v1/workers/W3/tickets", headers=worker_bearer("W1")).status_code == 403
    assert client.get("/api/v1/workers/W1/tickets", headers=worker_bearer("S1")).status_code == 200  # C1's supervisor


def test_the_admin_issues_a_worker_token(client: TestClient, county: County, admin_headers: dict[str, str]) -> None:
    issued = client.post("/api/v1/workers/W3/token", headers=admin_headers).json()
    assert issued["worker_code"] == "W3" and {"Authorization": f"Bearer {issued['token']}"} == worker_bearer("W3")
    assert client.post("/api/v1/workers/W3/token", headers=worker_bearer("W3")).status_code == 403
    assert client.post("/api/v1/workers/NOPE/token", headers=admin_headers).status_code == 404
