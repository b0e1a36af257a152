"""The in-memory doubles, re-exported: they live in ``psa_scripts.local.apis``."""

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
)
