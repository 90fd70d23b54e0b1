"""`python -m backend.staff.cli`: staff records from the command line (the admin API does the same).

    python -m backend.staff.cli create lin.xiao --name 林晓 --role agent   # asks for the password
    echo "$PASSWORD" | python -m backend.staff.cli create lin.xiao --name 林晓 --role agent --password-stdin
    python -m backend.staff.cli list
    python -m backend.staff.cli demo        # the demo people of `make run`, where none exist yet

A password is never taken from the command line (it would show in `ps` and the shell history).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from pydantic import ValidationError

from backend.core.config import DatabaseSettings
from backend.core.db import get_engine, session_factory
from backend.core.errors import DomainError
from backend.staff import service
from backend.staff.demo import seed_demo
from backend.staff.roles import StaffRole
from backend.staff.schemas import StaffCreate

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PowerDesk staff records")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="a new person (the password is asked for)")
    create.add_argument("username")
    create.add_argument("--name", required=True, help="shown to customers and colleagues, e.g. 林晓")
    create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    create.add_argument("--phone")
    create.add_argument("--wecom-user-id")
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    commands.add_parser("list", help="every person and their role")
    commands.add_parser("demo", help="the demo people of make run, when there are none yet")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    factory = session_factory(get_engine(DatabaseSettings().database_url))
    with factory() as session, session.begin():
        if args.command == "list":
            for person in service.list_staff(session):
                print(f"{person.username}\t{person.name}\t{person.role}\t{'在岗' if person.active else '停用'}")
            return 0
        if args.command == "demo":
            logger.info("demo staff added: %s", seed_demo(session))
            return 0
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("密码：")
        try:
            data = StaffCreate(
                username=args.username, name=args.name, role=StaffRole(args.role), password=password,
                phone=args.phone, wecom_user_id=args.wecom_user_id,
            )  # fmt: skip
            service.create_staff(session, data)
        except (ValidationError, DomainError) as exc:
            print(f"not created: {exc}", file=sys.stderr)
            return 1
    print(f"created {args.username}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
