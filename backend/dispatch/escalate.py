"""`python -m backend.dispatch.escalate [--every SECONDS]`: escalate tickets not accepted in time.

Runs once (for cron or the notifier's periodic job), or every SECONDS until interrupted.
"""

from __future__ import annotations

import argparse
import logging
import time

from backend.core.config import get_settings
from backend.core.db import get_engine, session_factory, transaction
from backend.tickets.service import escalate_overdue

logger = logging.getLogger(__name__)


def run_once() -> list[str]:
    settings = get_settings()
    with transaction(session_factory(get_engine(settings.database_url))) as session:
        return escalate_overdue(session, settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--every", type=float, default=0, help="repeat every SECONDS (0: run once)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    while True:
        escalated = run_once()
        logger.info("escalated %s tickets", len(escalated))
        if args.every <= 0:
            return
        time.sleep(args.every)


if __name__ == "__main__":
    main()
