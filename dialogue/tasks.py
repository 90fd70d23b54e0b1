"""The shape every task (a multi-step exchange: a report, a binding, a check) has.

A task is a dict in `State.tasks` (`name`, `step` = the question on the table, what it gathered);
its `Task` handler is stateless. The engine offers each message to the newest task first: `answer`
takes it as the answer to the question on the table, or returns False when it is something else
(another question, a different topic), which the engine then answers before `remind`ing the
customer, in one line, of the question still open.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from dialogue.context import Turn

TaskData = dict[str, Any]


class Task(ABC):
    name: ClassVar[str]
    #: what the cancelled task is called in "好的，已取消{what}"
    label: ClassVar[str]

    @abstractmethod
    async def ask(self, turn: Turn, task: TaskData) -> None:
        """Say the question of the task's current step."""

    @abstractmethod
    async def answer(self, turn: Turn, task: TaskData) -> bool:
        """Take the message as the answer to the current step; False when it is not one."""

    async def remind(self, turn: Turn, task: TaskData) -> None:
        """One line after a digression: the question still open."""
        turn.say("utter_reminder", what=self.label)

    async def cancel(self, turn: Turn, task: TaskData) -> None:
        turn.say("utter_task_cancelled", what=self.label)
