"""What the conversation remembers between two messages, as one JSON-safe dictionary.

- `identity`: who is talking (from the backend at the start of a session, again after binding):
  `kind` customer | worker | unknown, the bound `accounts` (account_no, address, phone_masked,
  customer_type), the `worker` (code, name).
- `tasks`: the task in progress (a report being filed, a binding, a check) and at most one task
  it interrupted, newest last. Each is a dict with its `name`, its `step` (the question on the
  table) and what it has gathered. When the newest ends, the one below resumes with its question.
- `parked`: a task the customer left unanswered for a while; "继续报修" brings it back.
- `topic`: what the last answer was about (bill, application, outage, ticket) and its keys, so a
  follow-up ("怎么比上月多了", "什么时候能送电", "客户经理") is read in its light.
- `misunderstood`: consecutive messages nothing understood.
- `counted_on`: the day (Beijing time) the conversation was last counted as answered by the
  assistant for the reports (dialogue/outcomes.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

MAX_TASKS = 2
#: how many turns a topic keeps its follow-ups
TOPIC_TURNS = 4


@dataclass
class Identity:
    kind: str = "unknown"
    accounts: list[dict[str, Any]] = field(default_factory=list)
    worker: dict[str, Any] | None = None
    loaded: bool = False

    @property
    def account_nos(self) -> list[str]:
        return [str(a["account_no"]) for a in self.accounts]

    @property
    def is_worker(self) -> bool:
        return self.kind == "worker" and bool(self.worker)

    def account(self, account_no: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts if a["account_no"] == account_no), None)

    @property
    def is_business(self) -> bool:
        return any(a.get("customer_type") not in (None, "resident") for a in self.accounts)


@dataclass
class State:
    identity: Identity = field(default_factory=Identity)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    parked: dict[str, Any] | None = None
    topic: dict[str, Any] | None = None
    misunderstood: int = 0
    turn: int = 0
    counted_on: str | None = None

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> State:
        data = copy.deepcopy(data or {})
        identity = Identity(**data.pop("identity", {}))
        names = ("tasks", "parked", "topic", "misunderstood", "turn", "counted_on")
        known = {name: data[name] for name in names if name in data}
        return cls(identity=identity, **known)

    def dump(self) -> dict[str, Any]:
        return {
            "identity": {
                "kind": self.identity.kind,
                "accounts": self.identity.accounts,
                "worker": self.identity.worker,
                "loaded": self.identity.loaded,
            },
            "tasks": self.tasks,
            "parked": self.parked,
            "topic": self.topic,
            "misunderstood": self.misunderstood,
            "turn": self.turn,
            "counted_on": self.counted_on,
        }

    # --- tasks ----------------------------------------------------------------------------------

    @property
    def task(self) -> dict[str, Any] | None:
        return self.tasks[-1] if self.tasks else None

    def start(self, name: str, step: str, **fields: Any) -> dict[str, Any]:
        """Begin a task; the one in progress (if any) waits below it, the oldest beyond that is dropped."""
        task = {"name": name, "step": step, "ignored": 0, **fields}
        self.tasks = [*[t for t in self.tasks if t["name"] != name][-(MAX_TASKS - 1) :], task]
        return task

    def finish(self) -> dict[str, Any] | None:
        """End the newest task; returns the task that resumes, if any."""
        if self.tasks:
            self.tasks.pop()
        return self.task

    def find(self, name: str) -> dict[str, Any] | None:
        return next((t for t in reversed(self.tasks) if t["name"] == name), None)

    def park(self) -> dict[str, Any] | None:
        """Set the newest task aside (the customer went elsewhere); "继续…" resumes it."""
        if not self.tasks:
            return None
        self.parked = self.tasks.pop()
        return self.parked

    def unpark(self) -> dict[str, Any] | None:
        task, self.parked = self.parked, None
        if task is not None:
            task["ignored"] = 0
            self.tasks = [t for t in self.tasks if t["name"] != task["name"]] + [task]
        return task

    # --- topic ----------------------------------------------------------------------------------

    def set_topic(self, name: str, **keys: Any) -> None:
        self.topic = {"name": name, "turn": self.turn, **keys}

    def topic_is(self, name: str) -> dict[str, Any] | None:
        """The current topic when it is `name` and recent enough for a follow-up."""
        if self.topic and self.topic.get("name") == name and self.turn - int(self.topic.get("turn", 0)) <= TOPIC_TURNS:
            return self.topic
        return None
