"""The service's synchronization channel ``Service_Instance_<id>``: state shared by its jobs."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any

from . import names
from .context import parse_flag
from .errors import InputError


def channel_name(instance_id: int) -> str:
    return f"{names.CHANNEL_PREFIX}{instance_id}"


class ServiceChannel:
    """Typed access to one service's channel through the ``synchronizationapi`` binding."""

    def __init__(self, sync: Any, instance_id: int) -> None:
        self.sync = sync
        self.name = channel_name(instance_id)

    def create(self) -> None:
        self.sync.createChannelIfAbsent(self.name, True)

    def exists(self) -> bool:
        return bool(self.sync.channelExists(self.name))

    def delete(self) -> None:
        self.sync.deleteChannel(self.name)

    def announce_running(self, instance_name: str, credentials_key: "str | None" = None) -> None:
        """Create the channel (persistent) and say the service runs: RUNNING_STATE=1,
        INSTANCE_NAME and, when set, CREDENTIALS_KEY (what the actions' Pre_Trigger_Action reads)."""
        self.create()
        self.put(names.KEY_RUNNING_STATE, names.RUNNING_STATE_RUNNING)
        self.put(names.KEY_INSTANCE_NAME, instance_name)
        if credentials_key:
            self.put(names.KEY_CREDENTIALS_KEY, credentials_key)

    def finish_done(self) -> None:
        """FINISH_DONE=true, when the channel still exists. Put it before the status FINISHED:
        once PSA shows FINISHED, the status loop may delete the channel."""
        if self.exists():
            self.put(names.KEY_FINISH_DONE, True)

    def get(self, key: str) -> Any:
        if not self.exists():
            return None
        return self.sync.get(self.name, key)

    def put(self, key: str, value: Any) -> None:
        self.sync.put(self.name, key, value)

    def flag(self, key: str) -> bool:
        value = self.get(key)
        try:
            return parse_flag(value, f"channel {self.name} key {key}")
        except InputError:
            return False  # a malformed flag left by another script reads as unset

    def remove(self, key: str) -> None:
        if self.exists():
            self.sync.remove(self.name, key)

    # --- the action in progress: announced by Pre_Trigger_Action, ended by its post/clean script ---
    def announce_action(self, job_id: str) -> None:
        """Record that the action job ``job_id`` acts on the container from now on."""
        self.put(names.KEY_ACTION_JOB_ID, str(job_id))

    def end_action(self, job_id: str) -> bool:
        """Forget the announced action if it is still ``job_id``'s (a later action keeps its own)."""
        if self.action_job() != str(job_id):
            return False
        self.remove(names.KEY_ACTION_JOB_ID)
        return True

    def action_job(self) -> "str | None":
        """The job id of the action announced last and not ended yet, or None."""
        return self.text(names.KEY_ACTION_JOB_ID)

    def text(self, key: str) -> "str | None":
        value = self.get(key)
        if value is None:
            return None
        text = str(value).strip()
        return text or None
