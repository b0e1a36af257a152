"""The harness users unit-test PSA scripts with: doubles, the loopback emulator, the runner.

Importing this package imports nothing heavy until a class is used.
"""

from ..local.apis import (  # noqa: F401
    Call,
    CallLog,
    ChannelError,
    ContainerState,
    FakeEngine,
    FakeRmApi,
    FakeSchedulerApi,
    FakeSynchronizationApi,
    JavaArray,
    JavaMap,
    ManualClock,
)

__all__ = [
    "Call", "CallLog", "ChannelError", "ContainerState", "FakeEngine", "FakeRmApi", "FakeSchedulerApi",
    "FakeSynchronizationApi", "JavaArray", "JavaMap", "ManualClock", "ProActiveEmulator", "Harness", "State", "Outcome",
    "node_variables",
]


def __getattr__(name):
    # The emulator and the runner are imported on first use (they start servers, load requests).
    if name == "ProActiveEmulator":
        from ..local.emulator import ProActiveEmulator

        return ProActiveEmulator
    if name in ("Harness", "State", "Outcome", "node_variables"):
        from . import harness

        return getattr(harness, name)
    raise AttributeError(name)
