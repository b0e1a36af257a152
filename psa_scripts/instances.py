"""Read-modify-write of a service instance that survives concurrent writers.

PSA has no compare-and-set: a PUT replaces the whole document, so two scripts
updating one instance at once (a deployment's post script and the status loop,
say) can each erase the other's change. ``update_instance`` narrows the window
(read just before writing) and closes the rest by checking: it reads the instance
back, and when its change is no longer there it applies it again, a bounded
number of times. This needs ``change`` to be idempotent: applying it to an
instance that already has it must change nothing.

A change owns the top-level fields it alters; only those are compared, and every other
field is sent as PSA had it at the read just before the PUT. A PUT that fails on the way
(connection, 502/503/504) is not replayed as it was: the next attempt reads the instance
again and re-applies the change, so fields PSA added meanwhile are kept. A field the
change sets that PSA does not store (absent from the document read back) is left out of
the check, with a note, instead of failing as a concurrent update.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, FrozenSet, Optional, Set

from .errors import PsaScriptError, RestError
from .model import ServiceInstance

Change = Callable[[ServiceInstance], Any]
# (instance before our write, instance read back) -> whether our change should be re-applied.
Overwritten = Callable[[ServiceInstance, ServiceInstance], bool]

ROUNDS = 3
PUT_ATTEMPTS = 4  # a PUT failing on the way (connection, 502/503/504): re-read, re-apply, send again
_TRANSIENT = (None, 502, 503, 504)
_ABSENT = object()


def owned_fields(change: Change, instance: ServiceInstance) -> Set[str]:
    """The top-level fields of ``instance`` that ``change`` alters (tried on a copy)."""
    before = instance.to_json()
    probe = type(instance).from_json(before)  # an independent copy with the same JSON (cheaper than a deep copy)
    change(probe)
    after = probe.to_json()
    return {key for key in before.keys() | after.keys() if before.get(key, _ABSENT) != after.get(key, _ABSENT)}


def needs_change(change: Change, instance: ServiceInstance, unstored: FrozenSet[str] = frozenset()) -> bool:
    """Whether applying ``change`` would alter ``instance``, fields in ``unstored`` aside."""
    return bool(owned_fields(change, instance) - unstored)


def update_instance(client: Any, instance_id: int, change: Change, rounds: int = ROUNDS,
                    overwritten: Optional[Overwritten] = None) -> ServiceInstance:
    """Apply ``change`` to the stored instance and make sure it sticks; return the result.

    ``client`` is a PsaClient (anything with ``get_instance`` and ``put_instance``).
    Skips the PUT when the change is already there. When the read-back lacks the
    change, ``overwritten(before, stored)`` (default: always true) tells a stale
    overwrite, to undo, from a newer deliberate write, to keep. Raises PsaScriptError
    when other writers overwrite the change ``rounds`` times in a row.
    """
    unstored: FrozenSet[str] = frozenset()  # fields PSA does not keep
    failed_puts = 0
    round_number = 0
    while round_number < rounds:
        current = client.get_instance(instance_id)
        owned = owned_fields(change, current) - unstored
        if not owned:
            return current
        before = current.copy()
        change(current)
        try:
            _put_once(client, current)
        except RestError as error:
            failed_puts += 1
            if error.status not in _TRANSIENT or failed_puts >= PUT_ATTEMPTS:
                raise
            _pause(client, failed_puts, error)
            continue  # read again: the PUT may have landed, or PSA may have changed the instance
        stored = client.get_instance(instance_id)
        dropped = {key for key in owned if key not in stored.to_json()}
        if dropped:
            unstored |= dropped
            print(f"psa-scripts: PSA does not store field(s) {', '.join(sorted(dropped))} of service instance "
                  f"{instance_id}: they are left out of the check", file=sys.stderr, flush=True)
        if not needs_change(change, stored, unstored):
            return stored
        if overwritten is not None and not overwritten(before, stored):
            return stored
        round_number += 1
        print(
            f"psa-scripts: instance {instance_id} was overwritten by a concurrent update; "
            f"applying the change again ({round_number}/{rounds})",
            file=sys.stderr, flush=True,
        )
    raise PsaScriptError(
        f"service instance {instance_id}: concurrent updates overwrote this change "
        f"{rounds} times in a row; giving up"
    )


def _put_once(client: Any, instance: ServiceInstance) -> None:
    """One PUT attempt: a retry must carry a fresh read, not this copy."""
    client.put_instance(instance, retry=False)


def _pause(client: Any, failed_puts: int, error: RestError) -> None:
    settings = getattr(client, "settings", None)
    initial = getattr(settings, "backoff_initial", 0.5)
    wait = min(initial * 2 ** (failed_puts - 1), getattr(settings, "backoff_max", 4.0))
    print(f"psa-scripts: {error}; reading the instance again and retrying in {wait:.2f}s "
          f"({failed_puts + 1}/{PUT_ATTEMPTS})", file=sys.stderr, flush=True)
    getattr(client, "sleep", time.sleep)(wait)  # the client's sleep: a test harness's clock


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
