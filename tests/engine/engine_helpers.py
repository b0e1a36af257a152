"""Helpers of the real-engine tests: polling with a deadline, fetching the test page."""

from engine_support import PAGE_MARKER, TEST_IMAGE, fetch_page, wait_until  # noqa: F401 (shared, re-exported)


def containers_named(engine, name):
    """The ids of the containers called exactly ``name`` (other test sessions may run alongside)."""
    found = engine.client.api.containers(all=True, filters={"name": name})
    return [c["Id"] for c in found if name in [n.lstrip("/") for n in c.get("Names") or []]]


class SpyEngine:
    """Passes every call to ``engine`` and records the names of the methods called."""

    def __init__(self, engine):
        self.engine = engine
        self.calls = []

    def __getattr__(self, attribute):
        value = getattr(self.engine, attribute)
        if not callable(value):
            return value

        def spy(*args, **kwargs):
            self.calls.append(attribute)
            return value(*args, **kwargs)

        return spy


def logs_so_far(engine, name, **options):
    """The container's logs through the SDK (``tail=1``...), or None when Podman read its log file in
    the middle of a line being written (a 500 "is not a valid container log line"): a probe asks again."""
    try:
        return engine.client.api.logs(name, **options)
    except Exception as error:  # docker.errors.APIError
        if "is not a valid container log line" in str(error):
            return None
        raise
