"""ScriptContext: everything one script run touches, built from the engine's bindings.

The ``cpython`` engine hands a script its bindings as module globals: py4j objects
in production (a ``JavaMap`` whose missing keys read as ``None``, a ``JavaArray``
with no list methods, proxies with Java method names), plain dicts and lists in
tests. The context reads both the same way, so a script never touches a binding
directly: it asks the context, and a test swaps what the context holds.

Heavy clients (``requests``, the container engine) are built on first use only:
a script that needs no network must start in a few milliseconds.
"""

from __future__ import annotations

import os
import sys
import time
TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs milliseconds at start-up: annotations here are strings
    from typing import Any, Callable, Mapping, Optional

from . import names
from .errors import InputError

# Settings read from the environment that a workflow variable of the same name overrides.
_SETTING_VARIABLES = ("PSA_TLS_VERIFY", "PSA_CA_BUNDLE", "PSA_HTTP_TIMEOUT", "DOCKER_HOST", names.SINGULARITY_BINARY)

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0", ""})

# Which binding holds what, to say so when one is missing.
_BINDING_HINTS = {
    "variables": "the engine provides it to every script",
    "schedulerapi": "the engine provides it to pre, task, post, flow and clean scripts",
    "rmapi": "the engine provides it to pre, task, post, flow and clean scripts",
    "synchronizationapi": "the engine provides it to every script",
}


def parse_flag(value: Any, what: str, default: bool = False, source: str = "") -> bool:
    """Read a boolean the way variables carry them: True/False or 'true'/'False'/... strings."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return default if text == "" else False
    raise InputError(f"{what} must be true or false, got {value!r}{source}")


class Values:
    """Typed, read-mostly access to a JavaMap or dict (variables, generic information).

    A value that is absent, ``None`` or blank counts as "not set".
    """

    def __init__(self, raw: Any, label: str) -> None:
        self.raw = raw
        self.label = label

    def get(self, name: str) -> Any:
        if self.raw is None:
            return None
        # JavaMap.get and dict.get both answer None for a missing key.
        return self.raw.get(name)

    def text(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.get(name)
        if value is None:
            return default
        text = str(value).strip()
        return text if text else default

    def require(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise InputError(f"{self._describe(name)} is not set{self._source(name)}")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        return parse_flag(self.get(name), self._describe(name), default, self._source(name))

    def integer(self, name: str, default: Optional[int] = None) -> Optional[int]:
        value = self.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            value = str(value)
        if isinstance(value, int):
            return value
        try:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return int(str(value).strip())
        except ValueError:
            pass
        raise InputError(
            f"{self._describe(name)} must be a whole number, got {value!r}{self._source(name)}"
        )

    def require_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise InputError(f"{self._describe(name)} is not set{self._source(name)}")
        return value

    def set(self, name: str, value: Any) -> None:
        if self.raw is None:
            raise InputError(f"cannot write {name}: binding 'variables' is missing")
        # Item assignment works on dicts and on py4j JavaMaps alike (a live call to Java).
        self.raw[name] = value

    def _describe(self, name: str) -> str:
        return name if self.label == "variable" else f"{self.label} {name}"

    def _source(self, name: str) -> str:
        hint = names.VARIABLE_SOURCES.get(name) if self.label == "variable" else None
        return f": {hint}" if hint else ""


def as_tuple(values: Any) -> "tuple[str, ...]":
    """A JavaArray, list or tuple of script arguments as a tuple of strings."""
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    # JavaArray has len() and indexing but no iteration helpers worth trusting.
    return tuple(str(values[i]) for i in range(len(values)))


def format_marker(epoch: float) -> str:
    """ISO-8601 with a numeric offset, whole seconds, local time: 2026-11-26T21:08:03+01:00."""
    local = time.localtime(int(epoch))
    offset = local.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f"{sign}{hours:02d}:{minutes:02d}"


class ScriptContext:
    """The one backend of a script run: inputs, outside-world clients, clock and output."""

    def __init__(
        self,
        bindings: Any,
        *,
        kind: str = names.DEFAULT_SCRIPT_KIND,
        engine: Any = None,
        psa: Any = None,
        clock: Optional[Callable[[], float]] = None,
        sleep: Optional[Callable[[float], Any]] = None,
        out: Any = None,
        environ: Any = None,
        http: Any = None,
    ) -> None:
        self.bindings = bindings
        self.kind = kind
        self.variables = Values(bindings.get("variables"), "variable")
        self.generic_info = Values(bindings.get("genericInformation"), "generic information")
        self.args = as_tuple(bindings.get("args"))
        self.writeback: "dict[str, Any]" = {}
        self._engine = engine
        self._psa = psa
        self._clock = clock or time.time
        self._sleep = sleep or getattr(clock, "sleep", None) or time.sleep
        self._out = out
        self._environ = os.environ if environ is None else environ
        self._http = http  # a requests.Session shared by the REST clients (None: their own)
        self._connected: "set[str]" = set()

    # --- inputs ------------------------------------------------------------------
    @property
    def is_clean(self) -> bool:
        return self.kind == names.CLEAN_KIND

    @property
    def workdir(self) -> str:
        """The task's localspace: where the deployment task leaves its port/id/status files."""
        if self.is_clean:
            raise InputError(
                "clean scripts have no localspace: the engine runs them after the data spaces close"
            )
        localspace = self.bindings.get("localspace")
        return str(localspace) if localspace else os.getcwd()

    def arg(self, index: int, what: str, allowed: "tuple[str, ...]" = ()) -> str:
        """Script argument ``index``; a clear error when absent or not one of ``allowed``."""
        if index >= len(self.args) or not self.args[index].strip():
            expected = f" (one of {', '.join(allowed)})" if allowed else ""
            raise InputError(
                f"argument {index + 1} ({what}) is missing{expected}: add it to the script "
                "reference as <arguments><argument value=\"...\"/></arguments>"
            )
        value = self.args[index].strip()
        if allowed and value not in allowed:
            raise InputError(
                f"argument {index + 1} ({what}) must be one of {', '.join(allowed)}, got {value!r}"
            )
        return value

    def flag_arg(self, index: int, what: str, default: bool) -> bool:
        """Script argument ``index`` read as true/false; ``default`` when absent or blank."""
        if index >= len(self.args) or not self.args[index].strip():
            return default
        return parse_flag(self.args[index], f"argument {index + 1} ({what})")

    def arg_pairs(self, start: int, what: str) -> "list[tuple[str, str]]":
        """The arguments from ``start`` on, read as pairs; at least one pair, and no odd one out."""
        rest = self.args[start:]
        if not rest or len(rest) % 2:
            got = f"got {len(rest)}" + (f", the last ({rest[-1]!r}) has no partner" if rest else "")
            raise InputError(
                f"arguments from {start + 1} on must come in pairs ({what}): {got}"
            )
        pairs = [(rest[i].strip(), rest[i + 1]) for i in range(0, len(rest), 2)]
        for position, (first, _) in enumerate(pairs):
            if not first:
                raise InputError(f"argument {start + 2 * position + 1} is empty: it must name a variable ({what})")
        return pairs
    def exact_args(self, count: int, usage: str) -> None:
        """InputError unless the script reference gives exactly ``count`` arguments (``usage``)."""
        if len(self.args) != count:
            raise InputError(
                f"this script takes {count} arguments ({usage}), got {len(self.args)}: set them in the "
                "script reference as <arguments><argument value=\"...\"/>...</arguments>"
            )

    def instance_name(self) -> str:
        """The ``INSTANCE_NAME`` variable, checked against the engine's container-name rule."""
        return names.check_instance_name(self.variables.require(names.INSTANCE_NAME))

    def binding(self, name: str) -> Any:
        value = self.bindings.get(name)
        if value is None:
            hint = _BINDING_HINTS.get(name, "the engine did not provide it")
            raise InputError(f"binding {name!r} is missing: {hint}")
        return value

    # --- the outside world -----------------------------------------------------------
    def _connected_binding(self, name: str) -> Any:
        api = self.binding(name)
        if name not in self._connected:
            api.connect()
            self._connected.add(name)
        return api

    @property
    def scheduler(self) -> Any:
        """The ``schedulerapi`` binding (Java method names), connected once."""
        return self._connected_binding("schedulerapi")

    @property
    def rm(self) -> Any:
        """The ``rmapi`` binding (Java method names), connected once."""
        return self._connected_binding("rmapi")

    @property
    def sync(self) -> Any:
        """The ``synchronizationapi`` binding (Java method names)."""
        return self.binding("synchronizationapi")

    @property
    def psa(self) -> Any:
        """The Service Automation REST client, authenticated with the job's session."""
        if self._psa is None:
            base_url = self.variables.require(names.PA_CLOUD_AUTOMATION_REST_URL)
            session_id = self.scheduler.getSession()
            if not session_id:
                raise InputError("schedulerapi.getSession() gave no session id after connect()")
            from .clients.http import HttpSettings
            from .clients.psa import PsaClient

            self._psa = PsaClient(base_url, str(session_id), HttpSettings.from_env(self.settings_source()),
                                  sleep=self.sleep, session=self._http)
        return self._psa

    def settings_source(self) -> "Mapping[str, str]":
        """The node's environment, overridden by workflow variables of the same names.

        So ``PSA_TLS_VERIFY``, ``PSA_CA_BUNDLE``, ``PSA_HTTP_TIMEOUT`` (and ``DOCKER_HOST``)
        can be set per node or per workflow. A view (``ChainMap``), not a copy of the environment.
        """
        from collections import ChainMap

        overrides = {}
        for name in _SETTING_VARIABLES:
            value = self.variables.text(name)
            if value is not None:
                overrides[name] = value
        return ChainMap(overrides, self._environ)

    @property
    def engine(self) -> Any:
        """The container engine ``ENGINE`` names (unless one was injected, or handed over as the
        ``names.ENGINE_BINDING`` binding): the Docker API from the environment, or with
        ``ENGINE=singularity`` the singularity command (``singularity``)."""
        if self._engine is None:
            self._engine = self.bindings.get(names.ENGINE_BINDING)
        if self._engine is None:
            if names.engine_kind(self.variables.get(names.ENGINE)) == names.ENGINE_SINGULARITY:
                # Imported here, not through .singularity: the bundler follows the imports of the
                # context methods a script uses, and Check_Instance_Status uses only this one.
                from .containers.singularity import SingularityEngine

                self._engine = SingularityEngine.from_settings(self.settings_source())
            else:
                from .engine import default_engine

                self._engine = default_engine(self.settings_source())
        return self._engine

    @property
    def singularity(self) -> Any:
        """The Singularity engine whatever ``ENGINE`` says (the ``*_Singularity`` scripts): the
        command ``SINGULARITY_BINARY`` names, else ``singularity`` on PATH; an injected engine wins."""
        if self._engine is None:
            from .containers.singularity import SingularityEngine

            self._engine = SingularityEngine.from_settings(self.settings_source())
        return self._engine

    def now(self) -> float:
        """Seconds since the epoch, from the context's clock (injectable in tests)."""
        return self._clock()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``: the ``sleep`` given to the context, else its clock's ``sleep`` (a test
        harness's clock only moves its time on), else ``time.sleep``. Retry back-offs and polls wait here."""
        self._sleep(seconds)

    # --- output ------------------------------------------------------------------------
    def print(self, message: str) -> None:
        print(message, file=self._out or sys.stdout, flush=True)

    def warn(self, message: str) -> None:
        self.print(f"WARNING: {message}")
