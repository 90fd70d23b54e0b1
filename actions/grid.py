"""The customer's grid worker: name, phone and service area (网格)."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._base import AccountAction, EventList, backend


class ActionContactGridWorker(AccountAction):
    def name(self) -> str:
        return "action_contact_grid_worker"

    async def answer_for(self, account_no: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> EventList:
        info = await backend().grid_worker(account_no)
        worker = info.get("worker") or {}
        dispatcher.utter_message(
            response="utter_grid_worker",
            cell_name=(info.get("grid_cell") or {}).get("name"),
            worker_name=worker.get("name"),
            worker_phone=worker.get("phone"),
        )
        backup = info.get("backup") or {}
        if backup.get("name"):
            dispatcher.utter_message(
                response="utter_grid_worker_backup",
                backup_name=backup["name"],
                backup_phone=backup.get("phone"),
            )
        return []
