"""Read-modify-write of a service instance that survives concurrent writers.

PSA has no compare-and-set: a PUT replaces the whole document, so two scripts
updating one instance at once (a deployment's post script and the status loop,
say) can each erase the other's change. ``update_instance`` narrows the window
(read just before writing) and closes the rest by checking: it reads the instance
back, and when its change is no longer there it applies it again, a bounded
number of times. This needs ``change`` to be idempotent: applying it to an
instance that already has it must change nothing.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from .errors import PsaScriptError
from .model import ServiceInstance

Change = Callable[[ServiceInstance], Any]
# (instance before our write, instance read back) -> whether our change should be re-applied.
Overwritten = Callable[[ServiceInstance, ServiceInstance], bool]

ROUNDS = 3


def needs_change(change: Change, instance: ServiceInstance) -> bool:
    """Whether applying ``change`` would alter ``instance`` (tried on a copy)."""
    probe = instance.copy()
    change(probe)
    return probe.to_json() != instance.to_json()


def update_instance(client: Any, instance_id: int, change: Change, rounds: int = ROUNDS,
                    overwritten: Optional[Overwritten] = None) -> ServiceInstance:
    """Apply ``change`` to the stored instance and make sure it sticks; return the result.

    ``client`` is a PsaClient (anything with ``get_instance`` and ``put_instance``).
    Skips the PUT when the change is already there. When the read-back lacks the
    change, ``overwritten(before, stored)`` (default: always true) tells a stale
    overwrite, to undo, from a newer deliberate write, to keep. Raises PsaScriptError
    when other writers overwrite the change ``rounds`` times in a row.
    """
    for round_number in range(1, rounds + 1):
        current = client.get_instance(instance_id)
        if not needs_change(change, current):
            return current
        before = current.copy()
        change(current)
        client.put_instance(current)
        stored = client.get_instance(instance_id)
        if not needs_change(change, stored):
            return stored
        if overwritten is not None and not overwritten(before, stored):
            return stored
        print(
            f"psa-scripts: instance {instance_id} was overwritten by a concurrent update; "
            f"applying the change again ({round_number}/{rounds})",
            file=sys.stderr, flush=True,
        )
    raise PsaScriptError(
        f"service instance {instance_id}: concurrent updates overwrote this change "
        f"{rounds} times in a row; giving up"
    )


def set_status(client: Any, instance_id: int, status: str) -> ServiceInstance:
    """Set ``instance_status`` (RUNNING, ERROR, FINISHED...) keeping everything else.

    Re-applied only when a concurrent writer put the old status back (a stale copy);
    a writer that set a third status (a user finishing the service) wins.
    """

    def change(instance: ServiceInstance) -> None:
        instance.instance_status = status

    def stale(before: ServiceInstance, stored: ServiceInstance) -> bool:
        return stored.instance_status == before.instance_status

    return update_instance(client, instance_id, change, overwritten=stale)
