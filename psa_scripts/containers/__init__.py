"""The real container engine and what the Docker scripts need from it.

- ``spec``: ``DeploySpec`` (the name checked by ``names.check_instance_name`` first)
  read from the workflow's variables, ``Deployed`` (how a container came to run).
- ``outcome``: ``ActionOutcome`` and the status file an action script leaves (``record_action``).
- ``logs``: the exactly-once log cursor and the bounded delivery of new lines.
- ``status``: ``StatusReader``, running? and new logs over any Docker API transport.
- ``docker_engine``: ``DockerEngine`` on the Docker Engine API (``docker`` SDK, imported lazily).
- ``lite``: the status reads on the standard library, and the default engine built on them.

The names below load their module on first use: a status check importing ``lite`` must
not pay for ``spec`` or ``docker_engine``.
"""

_EXPORTS = {
    "ActionOutcome": "outcome", "Deployed": "spec", "DeploySpec": "spec", "action_line": "outcome",
    "action_status": "outcome", "record_action": "outcome",
    "check_instance_name": "spec", "DockerEngine": "docker_engine", "LogCursor": "logs",
    "LogDelivery": "logs", "ForeignContainer": "spec", "owner_labels": "spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import sys

    full_name = f"{__name__}.{module}"
    __import__(full_name)  # importlib.import_module, without importing importlib (and warnings)
    value = getattr(sys.modules[full_name], name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
