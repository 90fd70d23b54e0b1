"""Staff records and console sessions: argon2 passwords, sign-in and its lockout, sessions that end
(sign-out, idle, maximum, deactivation, new password), the admin token that is not a login, and the
command line that creates staff without a password on its command line."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from backend.core import clock
from backend.core.config import ROOT, Settings
from backend.main import create_app
from backend.staff.access import COOKIE_NAME, CSRF_HEADER
from backend.staff.models import Staff, StaffSession

AGENT = {"username": "lin.xiao", "name": "林晓", "role": "agent", "password": "correct horse battery"}


def hire(client: TestClient, admin_headers: dict[str, str], **overrides: str) -> dict:
    answer = client.post("/api/v1/staff", json=AGENT | overrides, headers=admin_headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def sign_in(client: TestClient, username: str = "lin.xiao", password: str = AGENT["password"]) -> dict[str, str]:
    answer = client.post("/api/v1/staff/sessions", json={"username": username, "password": password})
    assert answer.status_code == 201, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    token = answer.cookies[COOKIE_NAME]
    client.cookies.clear()
    return {"Cookie": f"{COOKIE_NAME}={token}", CSRF_HEADER: answer.json()["csrf_token"]}


def test_passwords_are_argon2_hashes_and_a_signed_in_person_sees_themselves(
    client: TestClient, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    created = hire(client, admin_headers)
    assert created == {
        "username": "lin.xiao", "name": "林晓", "role": "agent", "phone": None, "wecom_user_id": None,
        "active": True, "accepting": True,
    }  # fmt: skip
    with session_factory() as session:
        stored = session.scalar(select(Staff.password_hash).where(Staff.username == "lin.xiao"))
    assert stored is not None and stored.startswith("$argon2id$") and AGENT["password"] not in stored
    headers = sign_in(client)
    me = client.get("/api/v1/staff/me", headers=headers).json()
    assert me["staff"]["name"] == "林晓" and me["csrf_token"] == headers[CSRF_HEADER]
    duplicate = client.post("/api/v1/staff", json=AGENT, headers=admin_headers)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"


def test_wrong_passwords_say_nothing_about_who_exists_and_lock_the_account(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    hire(client, admin_headers)
    unknown = client.post("/api/v1/staff/sessions", json={"username": "nobody", "password": "whatever1"})
    wrong = client.post("/api/v1/staff/sessions", json={"username": "lin.xiao", "password": "wrong-password"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json() == {"code": "signin_failed", "message": "用户名或密码错误"}
    for _ in range(4):  # five failures in a row in all
        client.post("/api/v1/staff/sessions", json={"username": "lin.xiao", "password": "wrong-password"})
    locked = client.post("/api/v1/staff/sessions", json={"username": "lin.xiao", "password": AGENT["password"]})
    assert locked.status_code == 429 and locked.json()["code"] == "signin_locked"


def test_sessions_end_on_sign_out_idleness_expiry_deactivation_and_a_new_password(
    client: TestClient, admin_headers: dict[str, str], session_factory: sessionmaker[Session]
) -> None:
    hire(client, admin_headers)

    def ends(headers: dict[str, str]) -> None:
        answer = client.get("/api/v1/staff/me", headers=headers)
        assert answer.status_code == 401 and answer.json()["code"] == "signed_out", answer.text

    headers = sign_in(client)
    assert client.delete("/api/v1/staff/sessions/current", headers=headers).status_code == 204
    ends(headers)

    for column, ago in ((StaffSession.last_active_at, timedelta(hours=3)), (StaffSession.expires_at, timedelta(0))):
        headers = sign_in(client)
        with session_factory() as session, session.begin():
            session.execute(
                update(StaffSession).where(StaffSession.ended_at.is_(None)).values({column: clock.now() - ago})
            )
        ends(headers)

    headers = sign_in(client)
    client.patch("/api/v1/staff/lin.xiao", json={"password": "another good password"}, headers=admin_headers)
    ends(headers)
    headers = sign_in(client, password="another good password")
    client.patch("/api/v1/staff/lin.xiao", json={"active": False}, headers=admin_headers)
    ends(headers)
    refused = client.post("/api/v1/staff/sessions", json={"username": "lin.xiao", "password": "another good password"})
    assert refused.status_code == 401


def test_the_admin_token_is_not_a_login_and_staff_rights_follow_roles(
    client: TestClient, admin_headers: dict[str, str], actions_headers: dict[str, str]
) -> None:
    hire(client, admin_headers)
    assert client.get("/api/v1/staff/me", headers=admin_headers).status_code == 403
    assert client.get("/api/v1/console/stream", params={"topics": "queue"}, headers=admin_headers).status_code == 403
    agent = sign_in(client)
    assert client.post("/api/v1/staff", json=AGENT | {"username": "x.y"}, headers=agent).status_code == 403
    assert client.get("/api/v1/staff", headers=agent).status_code == 403
    assert client.post("/api/v1/staff", json=AGENT | {"username": "x.y"}, headers=actions_headers).status_code == 403
    hire(client, admin_headers, username="boss", role="admin", name="管理员")
    boss = sign_in(client, "boss")
    assert client.post("/api/v1/staff", json=AGENT | {"username": "new.agent"}, headers=boss).status_code == 201
    forged = {"Cookie": boss["Cookie"], CSRF_HEADER: "not-the-token"}
    assert client.post("/api/v1/staff", json=AGENT | {"username": "forged"}, headers=forged).status_code == 403


def test_bad_staff_records_are_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    for bad in (
        {"username": "Lin Xiao"},
        {"password": "short"},
        {"role": "boss"},
        {"name": "<script>"},
        {"phone": "12345"},
    ):
        answer = client.post("/api/v1/staff", json=AGENT | bad, headers=admin_headers)
        assert answer.status_code == 422 and answer.json()["code"] == "validation_error", bad
    assert client.get("/api/v1/staff", headers=admin_headers).json() == []


def test_the_command_line_creates_staff_reading_the_password_from_stdin(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    command = [sys.executable, "-m", "backend.staff.cli", "create", "huang.lei", "--name", "黄蕾", "--role", "agent",
               "--password-stdin"]  # fmt: skip
    env = {"DATABASE_URL": settings.database_url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, input="a long password\n", env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    short = subprocess.run([*command[:4], "x.y", *command[5:]], input="short\n", env=env, capture_output=True,
                           text=True, cwd=ROOT)  # fmt: skip
    assert short.returncode == 1 and "not created" in short.stderr
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/v1/staff/me", headers=sign_in(client, "huang.lei", "a long password")).json()
    assert me["staff"]["name"] == "黄蕾"
