"""Every bundled script, run the way the cpython engine runs it, where psa_scripts is not installed.

Each run is a fresh ``python -I -S -u`` process on a file made of: a prologue standing in
for the engine's (stdlib-only doubles of ``variables``, ``args``, ``schedulerapi``, ``rmapi``,
``synchronizationapi``... bound as module globals, plus ``gateway`` and ``bindings``), the
bundled script's text, then an epilogue that writes back what the engine's would
(``result``, ``selected``, ``branch``, ``runs``, ``loop``, ``resultMetadata``); then ``sys.exit()``.
At exit, even after a failure, the prologue's hook dumps the write-back, the variables (their
writes are live calls in the real engine) and the recorded calls as JSON. ``-S`` keeps the
site-packages (and so an installed psa_scripts) out; the prologue adds a copy of them
without psa_scripts, and checks that ``psa_scripts`` cannot be found before the script runs.
PSA is the loopback emulator. The outcomes checked are those of the module tests.
"""

import ast
import json
import marshal
import os
import re
import shutil
import site
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from engine_support import PAGE_MARKER, TEST_IMAGE, fetch_page, require_engine
from samples import INSTANCE_ID, NAME, instance_json, service_variables

from psa_scripts.bundler import _LOADER_PROPER, render_script, source_digest
from psa_scripts.scripts import SCRIPTS
from psa_scripts.testing.emulator import ProActiveEmulator

NODE = "pnp://node-1.example:64738/node-1"
CHANNEL = f"Service_Instance_{INSTANCE_ID}"
NOT_ISOLATED = 97  # the prologue's exit code when psa_scripts is importable: the test would be void

PROLOGUE = r'''
import atexit, json, os, sys
sys.path.append(os.getcwd())
sys.path.append(SITE_DIR)
import importlib.util
if importlib.util.find_spec("psa_scripts") is not None:
    print("engine double: psa_scripts is importable, the run proves nothing", file=sys.stderr)
    os._exit(NOT_ISOLATED)
_engine_calls = []


class _JavaMap(dict):
    def __missing__(self, key):
        return None
    def put(self, key, value):
        previous = dict.get(self, key)
        self[key] = value
        return previous
    def containsKey(self, key):
        return key in self
    def keySet(self):
        return set(self)


class _JavaArray:
    def __init__(self, items):
        self._items = list(items)
    def __len__(self):
        return len(self._items)
    def __getitem__(self, index):
        return self._items[index]


class _Api:
    def __init__(self, api, state):
        self._api, self._state = api, state
    def _call(self, method, *args):
        _engine_calls.append([self._api, method, list(args)])


class _SchedulerApi(_Api):
    connected = False
    def connect(self):
        self._call("connect"); self.connected = True
    def getSession(self):
        self._call("getSession"); return self._state["session_id"] if self.connected else None
    def registerService(self, jobId, instanceId, enableActions):
        self._call("registerService", jobId, instanceId, enableActions)
    def detachService(self, jobId, instanceId):
        self._call("detachService", jobId, instanceId); return True
    def isJobFinished(self, jobId):
        self._call("isJobFinished", jobId); return str(jobId) in self._state["finished_jobs"]
    def putThirdPartyCredential(self, key, value):
        self._call("putThirdPartyCredential", key)
    def removeThirdPartyCredential(self, key):
        self._call("removeThirdPartyCredential", key)


class _RmApi(_Api):
    def connect(self):
        self._call("connect")
    def addNodeToken(self, nodeUrl, token):
        self._call("addNodeToken", nodeUrl, token)
        self._state["node_tokens"].setdefault(nodeUrl, []).append(token)
    def removeNodeToken(self, nodeUrl, token):
        self._call("removeNodeToken", nodeUrl, token)
        tokens = self._state["node_tokens"].get(nodeUrl, [])
        if token in tokens:
            tokens.remove(token)


class _SynchronizationApi(_Api):
    def _channel(self, name):
        if name not in self._state["channels"]:
            raise RuntimeError("Channel " + name + " does not exist")
        return self._state["channels"][name]
    def createChannelIfAbsent(self, name, isPersistent):
        self._call("createChannelIfAbsent", name, isPersistent)
        return self._state["channels"].setdefault(name, {}) == {}
    def channelExists(self, name):
        self._call("channelExists", name); return name in self._state["channels"]
    def deleteChannel(self, name):
        self._call("deleteChannel", name); return self._state["channels"].pop(name, None) is not None
    def put(self, name, key, value):
        self._call("put", name, key, value); channel = self._channel(name)
        previous = channel.get(key); channel[key] = value; return previous
    def get(self, name, key):
        self._call("get", name, key); return self._channel(name).get(key)
    def containsKey(self, name, key):
        return key in self._channel(name)
    def remove(self, name, key):
        return self._channel(name).pop(key, None)
    def keySet(self, name):
        return set(self._channel(name))


_engine_state = json.loads(STATE_JSON)
_engine_out = {"writeback": {}, "completed": False}


def _engine_dump():
    """At exit, even after a failure: variable writes are live calls in the real engine."""
    _engine_out.update(
        variables=dict(variables), calls=_engine_calls, channels=_engine_state["channels"],
        node_tokens=_engine_state["node_tokens"],
        leftovers=sorted(n for n in globals() if n.startswith("_psa")),
        gateway_intact=gateway is _engine_gateway, bindings_intact=bindings is _engine_bindings,
        psa_scripts_files=sorted({getattr(m, "__file__", "") or "" for n, m in sys.modules.items()
                                  if n.startswith("psa_scripts")}),
    )
    with open(_engine_state["out"], "w") as handle:
        json.dump(_engine_out, handle, default=repr)


atexit.register(_engine_dump)
_engine_gateway = gateway = object()
bindings = {
    "variables": _JavaMap(_engine_state["variables"]),
    "genericInformation": _JavaMap(_engine_state["generic_info"]),
    "schedulerapi": _SchedulerApi("schedulerapi", _engine_state),
    "rmapi": _RmApi("rmapi", _engine_state),
    "synchronizationapi": _SynchronizationApi("synchronizationapi", _engine_state),
    "credentials": _JavaMap(),
}
bindings.update(_engine_state["extra_bindings"])
if _engine_state["args"] is not None:
    bindings["args"] = _JavaArray(_engine_state["args"])
if _engine_state["localspace"]:
    bindings["localspace"] = os.getcwd()
_engine_bindings = bindings
locals().update(bindings)
'''

EPILOGUE = r'''
for _engine_name in ("result", "selected", "branch", "runs", "loop", "resultMetadata"):
    if _engine_name in globals():
        _engine_out["writeback"][_engine_name] = globals()[_engine_name]
_engine_out["completed"] = True
sys.exit()
'''


def _site_dir(target: Path) -> Path:
    """The interpreter's site-packages as links, minus psa_scripts (the node has requests & co.)."""
    target.mkdir()
    dirs = [Path(p) for p in site.getsitepackages() + [site.getusersitepackages()]]
    dirs += [Path(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    for directory in dirs:
        if not directory.is_dir():
            continue
        for entry in directory.iterdir():
            lowered = entry.name.lower()
            if lowered.startswith(("psa_scripts", "psa-scripts", "__editable__", "_psa_scripts")) \
                    or lowered.endswith((".pth", ".egg-link")) or (target / entry.name).exists():
                continue
            (target / entry.name).symlink_to(entry)
    return target


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """The node: every script bundled, and a site-packages without psa_scripts."""
    root = tmp_path_factory.mktemp("node")
    scripts = root / "catalog"
    scripts.mkdir()
    for name, info in SCRIPTS.items():
        (scripts / f"{name}.py").write_text(render_script(info), encoding="ascii")
    return {"scripts": scripts, "site": _site_dir(root / "site-packages"), "root": root}


@pytest.fixture
def emu():
    with ProActiveEmulator() as emulator:
        yield emulator


class EngineRun:
    def __init__(self, process, out_path):
        self.returncode = process.returncode
        self.stdout = process.stdout
        self.stderr = process.stderr
        self.out = json.loads(out_path.read_text()) if out_path.exists() else None

    def calls(self, api, method=None):
        return [tuple(args) for a, m, args in self.out["calls"] if a == api and (method is None or m == method)]

    def ok(self):
        assert self.returncode == 0 and self.out["completed"], f"exit {self.returncode}\n{self.stdout}\n{self.stderr}"
        assert self.out["leftovers"] == [] and self.out["gateway_intact"] and self.out["bindings_intact"]
        assert all(f.startswith("<embedded>/") for f in self.out["psa_scripts_files"])
        return self


@pytest.fixture
def engine_run(node, tmp_path):
    """``engine_run(script, variables=..., args=..., ...)`` runs a bundled script as the engine would."""
    counter = [0]

    def run(script, *, variables=None, args=None, generic_info=None, channels=None, node_tokens=None,
            finished_jobs=(), session_id="no-session", files=None, localspace=None, extra_bindings=None,
            env=None, text=None):
        counter[0] += 1
        workdir = tmp_path / f"localspace-{counter[0]}"
        workdir.mkdir()
        for file_name, content in (files or {}).items():
            (workdir / file_name).write_text(content)
        out_path = tmp_path / f"out-{counter[0]}.json"
        state = {"variables": variables or {}, "generic_info": generic_info or {}, "args": args,
                 "channels": channels or {}, "node_tokens": node_tokens or {}, "finished_jobs": list(finished_jobs),
                 "session_id": session_id, "out": str(out_path), "extra_bindings": extra_bindings or {},
                 "localspace": SCRIPTS[script].kind not in ("Script/clean", "Script/selection")
                 if localspace is None else localspace}
        prologue = (PROLOGUE.replace("SITE_DIR", repr(str(node["site"])))
                    .replace("NOT_ISOLATED", str(NOT_ISOLATED)).replace("STATE_JSON", repr(json.dumps(state))))
        body = text if text is not None else (node["scripts"] / f"{script}.py").read_text()
        job = tmp_path / f"job-{counter[0]}.py"  # the engine's temp file
        job.write_text(prologue + body + EPILOGUE, encoding="utf-8")
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_PROXY": "127.0.0.1,localhost",
                       "no_proxy": "127.0.0.1,localhost", "PSA_SCRIPTS_CACHE": str(tmp_path / "bytecode"),
                       **(env or {})}
        process = subprocess.run([sys.executable, "-I", "-S", "-u", str(job)], cwd=workdir, env=environment,
                                 capture_output=True, text=True, timeout=120)
        assert process.returncode != NOT_ISOLATED, process.stderr
        result = EngineRun(process, out_path)
        result.workdir = workdir
        return result

    return run


def psa_variables(emu, **overrides):
    return {**service_variables(), "PA_CLOUD_AUTOMATION_REST_URL": emu.psa_url,
            "PA_CLOUD_AUTOMATION_REST_PUBLIC_URL": emu.psa_url, "PA_SCHEDULER_REST_URL": emu.scheduler_url,
            **overrides}


# --- the bytecode cache ---------------------------------------------------------------------------

def test_embedded_modules_compile_once_then_load_from_the_cache(engine_run, tmp_path):
    cache = tmp_path / "bytecode"
    first = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    cached = sorted(cache.rglob("*.bin"))
    assert cached and all(path.parent.name.startswith("cpython-") for path in cached)
    stamps = {path: path.stat().st_mtime_ns for path in cached}
    second = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert second.out["writeback"] == first.out["writeback"] == {"loop": "*/1 * * * *"}
    assert {path: path.stat().st_mtime_ns for path in sorted(cache.rglob("*.bin"))} == stamps  # read, not rewritten


def test_the_loader_proper_is_compiled_once_then_read_from_the_cache(engine_run, tmp_path):
    """The file's importer is compiled whole at every start except its loader proper, which is
    kept in the cache under its own key, like a module; a damaged entry is compiled again."""
    entry = _cache_dir(tmp_path) / f"{source_digest('_psa_loader', _LOADER_PROPER)}.bin"
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    kept = entry.read_bytes()
    assert type(marshal.loads(kept)).__name__ == "code"
    entry.write_bytes(b"not bytecode")
    run = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert run.out["writeback"] == {"loop": "*/1 * * * *"} and entry.read_bytes() == kept
    stamp = entry.stat().st_mtime_ns
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten


def test_a_planted_loader_proper_runs_only_from_a_cache_that_is_ours(engine_run, tmp_path):
    """What the cache holds runs as our code, the loader proper first: in a cache others can
    write it is neither read nor replaced."""
    cache, marker = _cache_dir(tmp_path), tmp_path / "planted-code-ran"
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    entry = cache / f"{source_digest('_psa_loader', _LOADER_PROPER)}.bin"
    planted = marshal.dumps(compile(f"open({str(marker)!r}, 'w').write('planted')\n", "<planted>", "exec"))
    entry.write_bytes(planted)
    cache.chmod(0o770)
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert not marker.exists() and entry.read_bytes() == planted
    cache.chmod(0o700)  # the control: ours alone, it is read
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"})
    assert marker.exists()


def test_a_corrupt_cache_entry_is_recompiled_and_tracebacks_still_name_embedded_files(engine_run, tmp_path):
    engine_run("Pre_Start_Service", variables={"PROXYFIED": "false"}).ok()
    for path in (tmp_path / "bytecode").rglob("*.bin"):
        path.write_bytes(b"not bytecode")
    run = engine_run("Pre_Start_Service", variables={"PROXYFIED": "true"})
    assert run.returncode != 0
    assert "psa_scripts.errors.InputError: PCA_INSTANCE_ID is not set" in run.stderr
    assert 'File "<embedded>/psa_scripts/context.py"' in run.stderr


def test_the_cache_is_pruned_to_its_newest_thousand_entries_after_a_write(engine_run, tmp_path):
    """Each library version adds entries: a write (a miss) drops the oldest beyond 1000, never the new ones."""
    engine_run("Fetch_Logs", variables={}).ok()
    [directory] = (tmp_path / "bytecode").iterdir()
    fresh = {p.name for p in directory.iterdir()}
    for index in range(1100):  # what old versions left, written long ago
        stale = directory / f"stale-{index:04d}.bin"
        stale.write_bytes(b"old")
        os.utime(stale, ns=(10**18 + index, 10**18 + index))
    for path in directory.iterdir():
        if path.name in fresh:
            path.unlink()  # the next run misses: it compiles, writes, prunes
    engine_run("Fetch_Logs", variables={}).ok()
    left = {p.name for p in directory.iterdir()}
    assert len(left) == 1000 and fresh <= left
    assert sorted(left - fresh)[0] == f"stale-{1100 - 1000 + len(fresh):04d}.bin"  # the oldest went


def test_the_cache_can_be_turned_off(engine_run, tmp_path):
    engine_run("Fetch_Logs", variables={}, env={"PSA_SCRIPTS_CACHE": "off"}).ok()
    assert not (tmp_path / "bytecode").exists()


def _cache_dir(tmp_path):
    return tmp_path / "bytecode" / sys.implementation.cache_tag


def _plant(cache, marker):
    """Replace every cached module by code that leaves ``marker``: what someone able to write
    into the cache could make our scripts run."""
    import marshal

    planted = marshal.dumps(compile(f"open({str(marker)!r}, 'w').write('planted')\n", "<planted>", "exec"))
    bins = sorted(cache.glob("*.bin"))
    assert bins
    for path in bins:
        path.write_bytes(planted)
    return {path: planted for path in bins}


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o750], ids=oct)
def test_a_cache_others_can_write_is_neither_read_nor_written(engine_run, tmp_path, mode):
    cache, marker = _cache_dir(tmp_path), tmp_path / "planted-code-ran"
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    planted = _plant(cache, marker)
    cache.chmod(mode)
    run = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert run.out["writeback"] == {"loop": "*/1 * * * *"}
    assert not marker.exists(), "bytecode planted in a group/other-writable cache was executed"
    assert {path: path.read_bytes() for path in sorted(cache.glob("*.bin"))} == planted  # nor written

    cache.chmod(0o700)  # the control: the same planted cache, ours alone, is read
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"})
    assert marker.exists()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown needs root")
def test_a_cache_owned_by_someone_else_is_not_read(engine_run, tmp_path):
    cache, marker = _cache_dir(tmp_path), tmp_path / "planted-code-ran"
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    _plant(cache, marker)
    os.chown(cache, 65534, 65534)
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()
    assert not marker.exists()


def test_a_fresh_cache_directory_is_private(engine_run, tmp_path):
    root = tmp_path / "fresh" / "nested"
    engine_run("Fetch_Logs", variables={}, env={"PSA_SCRIPTS_CACHE": str(root)}).ok()
    leaf = root / sys.implementation.cache_tag
    assert leaf.stat().st_mode & 0o777 == 0o700 and leaf.stat().st_uid == os.getuid()
    assert sorted(leaf.glob("*.bin"))


def test_an_existing_shared_cache_directory_gets_no_bytecode(engine_run, tmp_path):
    cache = _cache_dir(tmp_path)
    cache.mkdir(parents=True)
    cache.chmod(0o775)
    engine_run("Fetch_Logs", variables={}).ok()
    assert list(cache.iterdir()) == [] and cache.stat().st_mode & 0o777 == 0o775


def test_without_os_getuid_the_cache_is_not_used(engine_run, node, tmp_path):
    script = (node["scripts"] / "Fetch_Logs.py").read_text()
    run = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}, text="del os.getuid\n" + script).ok()
    assert run.out["writeback"] == {"loop": "*/1 * * * *"}
    assert not _cache_dir(tmp_path).exists()


# --- every script --------------------------------------------------------------------------------

@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_every_script_runs_alone_and_fails_clearly_without_its_inputs(engine_run, script):
    """No variable at all: a script either has nothing to do or stops on a clear InputError,
    raised from its embedded modules, never on an import."""
    run = engine_run(script, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    if run.returncode == 0:
        run.ok()
        return
    assert "ImportError" not in run.stderr and "ModuleNotFoundError" not in run.stderr, run.stderr
    assert "psa_scripts.errors.InputError: " in run.stderr, run.stderr
    assert 'File "<embedded>/psa_scripts/' in run.stderr
    assert run.out["completed"] is False and run.out["writeback"] == {}  # the failure skipped the write-back


def test_a_bundled_file_is_what_the_engine_can_run(node):
    for name in SCRIPTS:
        text = (node["scripts"] / f"{name}.py").read_text()
        top_level = text.split("_psa_uninstall = _psa_install({", 1)[0] + text.rsplit("})\n", 1)[1]
        top_names = {n.id for n in ast.walk(ast.parse(top_level)) if isinstance(n, ast.Name)}
        assert not {"gateway", "bindings"} & top_names
        assert "from __future__" not in text.split("def _psa_install", 1)[0]


# --- the scripts, outcome by outcome -------------------------------------------------------------------

def test_pre_start_service_sets_the_proxy_urls(engine_run, emu):
    run = engine_run("Pre_Start_Service", variables=psa_variables(emu)).ok()
    assert run.out["variables"]["PROXYFIED_URL"] == f"{emu.psa_url}/services/7/endpoints/coco-annotator-gui-42/"
    assert run.out["variables"]["WS_PROXYFIED_URL"] == (
        f"{emu.psa_url.replace('http://', 'ws://')}/services/7/endpoints/coco-annotator-gui-42/")
    assert run.out["writeback"] == {}


def test_pre_start_service_warns_about_proxified(engine_run, emu):
    variables = psa_variables(emu, PROXIFIED="True")
    del variables["PROXYFIED"]
    run = engine_run("Pre_Start_Service", variables=variables).ok()
    assert "WARNING: variable PROXIFIED is set but PROXYFIED is not" in run.stdout
    assert "PROXYFIED_URL" not in run.out["variables"]


def test_post_start_service_reports_the_running_service(engine_run, emu):
    emu.add_instance(instance_json())
    session = emu.new_session()
    variables = psa_variables(emu, PROXYFIED_URL=f"{emu.psa_url}/services/7/endpoints/coco-annotator-gui-42/")
    run = engine_run("Post_Start_Service", variables=variables, session_id=session,
                     files={f"{NAME}_port": "32768\n", f"{NAME}_containerID": "4f1c2a9e7b3d\n"}).ok()

    puts = emu.requests_to("PUT", r"/serviceInstances/7$")
    assert len(puts) == 1 and puts[0].headers["sessionid"] == session
    assert puts[0].json == {
        **instance_json(),
        "instance_status": "RUNNING",
        "groups": ["users", "scheduleradmins", "rmcoreadmins"],
        "deployments": [{
            "node": {"name": "node-1", "host": "node-1.example", "node_source_name": "Default", "url": NODE},
            "container": {"id": "4f1c2a9e7b3d", "name": NAME},
            "endpoint": {"id": "coco-annotator-gui-42", "url": "http://node-1.example:32768",
                         "proxyfied": True, "proxyfiedUrl": variables["PROXYFIED_URL"]},
        }],
    }
    assert run.out["variables"]["HOSTNAME"] == "node-1.example" and run.out["variables"]["PORT"] == "32768"
    assert run.calls("schedulerapi", "registerService") == [("42", 7, True)]
    assert run.calls("synchronizationapi", "createChannelIfAbsent") == [(CHANNEL, True)]
    assert run.out["channels"] == {CHANNEL: {"RUNNING_STATE": 1, "INSTANCE_NAME": NAME}}
    assert run.out["node_tokens"] == {NODE: [f"PSA_{NAME}"]}
    assert run.out["writeback"] == {}
    assert session not in run.stdout + run.stderr


def test_post_start_service_without_a_variable_fails_with_a_readable_traceback(engine_run, emu):
    variables = psa_variables(emu)
    del variables["PCA_INSTANCE_ID"]
    run = engine_run("Post_Start_Service", variables=variables,
                     files={f"{NAME}_port": "32768", f"{NAME}_containerID": "4f1c2a9e7b3d"})
    assert run.returncode != 0 and not run.out["completed"]
    assert "PCA_INSTANCE_ID is not set: PSA sets it when it launches a service action" in run.stderr
    source = Path("psa_scripts/context.py")
    if not source.exists():
        source = Path(__file__).resolve().parents[1] / "psa_scripts" / "context.py"
    lines = source.read_text().splitlines()
    match = re.search(r'File "<embedded>/psa_scripts/context.py", line (\d+), in require\w*\n\s+(.+)\n', run.stderr)
    assert match, run.stderr
    assert lines[int(match.group(1)) - 1].strip() == match.group(2).strip()
    assert 'File "<embedded>/psa_scripts/scripts/post_start_service.py", line' in run.stderr
    assert emu.requests_to("PUT", ".") == []


def test_clean_start_service_marks_a_failed_deployment(engine_run, emu):
    emu.add_instance(instance_json())
    run = engine_run("Clean_Start_Service", variables=psa_variables(emu), session_id=emu.new_session(),
                     channels={CHANNEL: {"RUNNING_STATE": 1}}).ok()
    assert [r.json["instance_status"] for r in emu.requests_to("PUT", r"/serviceInstances/7$")] == ["ERROR"]
    assert run.out["channels"][CHANNEL]["RUNNING_STATE"] == 2


def test_check_instance_status_finished_releases_everything(engine_run, emu):
    """The FINISHED branch does not ask the engine (the real one is tested in the engine tier)."""
    emu.add_instance(instance_json("FINISHED"))
    run = engine_run("Check_Instance_Status", variables=psa_variables(emu, CREDENTIALS_KEY="coco-creds"),
                     session_id=emu.new_session(), channels={CHANNEL: {"INSTANCE_NAME": NAME}},
                     node_tokens={NODE: [f"PSA_{NAME}"]}, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}).ok()
    assert run.out["variables"]["IS_FINISHED"] == "true"
    assert run.calls("schedulerapi", "removeThirdPartyCredential") == [("coco-creds",)]
    assert run.calls("schedulerapi", "detachService") == [("42", 7)]
    assert run.out["channels"] == {} and run.out["node_tokens"] == {NODE: []}
    assert emu.requests_to("PUT", ".") == []


@pytest.mark.parametrize("is_finished, loop", [("false", "*/1 * * * *"), ("True", False)])
def test_fetch_logs_loops_every_minute_until_finished(engine_run, is_finished, loop):
    run = engine_run("Fetch_Logs", variables={"IS_FINISHED": is_finished}).ok()
    assert run.out["writeback"] == {"loop": loop}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", run.out["variables"]["LAST_TIME_MARKER"])


def test_pre_trigger_action_announces_the_finish(engine_run):
    run = engine_run("Pre_Trigger_Action", variables={"PCA_INSTANCE_ID": "7", "PA_JOB_ID": "60"},
                     args=["FINISH_LAUNCHED"], channels={CHANNEL: {"INSTANCE_NAME": NAME, "CREDENTIALS_KEY": "coco-creds"}}).ok()
    assert run.out["variables"]["INSTANCE_NAME"] == NAME and run.out["variables"]["CREDENTIALS_KEY"] == "coco-creds"
    assert run.out["channels"][CHANNEL]["FINISH_LAUNCHED"] is True
    assert run.out["channels"][CHANNEL]["ACTION_JOB_ID"] == "60"


def test_pre_trigger_action_without_its_argument(engine_run):
    run = engine_run("Pre_Trigger_Action", variables={"PCA_INSTANCE_ID": "7"}, channels={CHANNEL: {}})
    assert run.returncode != 0
    assert "argument 1 (the action launched) is missing" in run.stderr


def test_post_trigger_action_finishes_the_instance(engine_run, emu):
    emu.add_instance(instance_json("RUNNING"))
    run = engine_run("Post_Trigger_Action", variables=psa_variables(emu), args=["FINISHED"],
                     session_id=emu.new_session(), channels={CHANNEL: {"INSTANCE_NAME": NAME}},
                     files={f"{NAME}_status": NAME}).ok()
    assert [r.json["instance_status"] for r in emu.requests_to("PUT", r"/serviceInstances/7$")] == ["FINISHED"]
    assert run.out["channels"][CHANNEL]["FINISH_DONE"] is True


def test_clean_trigger_action_releases_the_node_of_a_finished_deployment(engine_run, emu):
    emu.add_instance(instance_json("FINISHED", deployments=[
        {"node": {"url": "pnp://deploy-node:64738/node-9"}, "container": {"id": "4f1c", "name": NAME}}]))
    run = engine_run("Clean_Trigger_Action", variables=psa_variables(emu, CREDENTIALS_KEY="coco-creds"),
                     session_id=emu.new_session(), finished_jobs=["42"],
                     node_tokens={"pnp://deploy-node:64738/node-9": [f"PSA_{NAME}"]}).ok()
    assert run.calls("schedulerapi", "removeThirdPartyCredential") == [("coco-creds",)]
    assert run.calls("rmapi", "removeNodeToken") == [("pnp://deploy-node:64738/node-9", f"PSA_{NAME}")]


@pytest.mark.parametrize("tokens, selected", [(["PSA_other-service"], False), (["gpu"], True), ([], True)])
def test_check_not_used_by_other_service_selects_free_nodes(engine_run, tokens, selected):
    run = engine_run("Check_Not_Used_By_Other_Service", extra_bindings={"nodeTokens": tokens}).ok()
    assert run.out["writeback"] == {"selected": selected}


def test_the_embedded_copy_wins_over_an_installed_psa_scripts(engine_run, node, tmp_path):
    """An older psa_scripts on the node, even already imported, does not change what runs."""
    fake = tmp_path / "old-install" / "psa_scripts"
    (fake / "scripts").mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = '0.0.1-old'\n")
    (fake / "scripts" / "__init__.py").write_text("def run(name, bindings):\n    bindings['loop'] = 'OLD'\n")
    script = (node["scripts"] / "Fetch_Logs.py").read_text()
    text = (f"import importlib.util as _t_util\nsys.path.insert(0, {str(fake.parent)!r})\n"
            "_t_old = __import__('psa_scripts')\n" + script +
            "_t_after = sys.modules.get('psa_scripts')\n"
            "variables['AFTER'] = getattr(_t_after, '__version__', None)\n")
    run = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}, text=text)
    assert run.returncode == 0, run.stderr
    assert run.out["writeback"] == {"loop": "*/1 * * * *"}
    assert run.out["variables"]["AFTER"] == "0.0.1-old"  # the installed module is back after the run
    assert run.out["leftovers"] == []


# --- the scripts that drive services from a workflow --------------------------------------------------

def _mongodb_service(emu):
    """PSA knows the MongoDB service; launching it deploys it at once (the deployment job's effect)."""
    emu.add_service_workflow("service-automation", "MongoDB", "MongoDB", variables={"SERVICE_PORT": "-1"})
    emu.add_service_workflow("service-automation", "Finish_MongoDB", "MongoDB", states="(RUNNING,FINISHED)")

    def deployed(emulator, recorded):
        new = max(emulator.instances)
        emulator.instances[new].update(instance_status="RUNNING", deployments=[
            {"endpoint": {"id": "mongo-ep", "url": "mongodb://node-7:27017"}}])

    emu.after("POST", r"/serviceInstances$", deployed)


def _mongodb_instance(status="RUNNING"):
    return {"instance_id": 3, "service_id": "MongoDB", "bucket_name": "service-automation", "instance_status": status,
            "variables": {"INSTANCE_NAME": "mongo-1", "DB_USER": "admin"}, "deployments": [], "job_submissions": []}


def test_service_start_launches_and_propagates_the_endpoint(engine_run, emu):
    _mongodb_service(emu)
    variables = psa_variables(emu, INSTANCE_NAME="mongo-1", SERVICE_ACTIVATION_WORKFLOW="service-automation/MongoDB")
    run = engine_run("Service_Start", variables=variables, args=["true"], session_id=emu.new_session()).ok()
    assert emu.launches == [{"bucket_name": "service-automation", "workflow_name": "MongoDB", "parent_job_id": "42",
                             "variables": {"SERVICE_PORT": "-1", "INSTANCE_NAME": "mongo-1"}}]
    new = max(emu.instances)
    assert run.out["variables"]["INSTANCE_ID_mongo-1"] == str(new)
    assert run.out["variables"]["ENDPOINT_mongo-1"] == "mongodb://node-7:27017"
    assert run.out["writeback"] == {"result": "mongodb://node-7:27017"}
    assert run.calls("schedulerapi", "registerService") == [("42", new, True)]


def test_service_start_without_a_service_fails_before_any_call(engine_run, emu):
    run = engine_run("Service_Start", variables=psa_variables(emu, INSTANCE_NAME="mongo-1"))
    assert run.returncode != 0
    assert "InputError: set SERVICE_ACTIVATION_WORKFLOW" in run.stderr
    assert emu.requests == []


def test_service_action_finishes_an_instance(engine_run, emu):
    _mongodb_service(emu)
    emu.add_instance(_mongodb_instance())
    emu.after("PUT", r"/serviceInstances/3/action$",
              lambda emulator, recorded: emulator.instances[3].update(instance_status="FINISHED"))
    variables = psa_variables(emu, INSTANCE_NAME="mongo-1", ACTION="Finish_MongoDB")
    del variables["PCA_INSTANCE_ID"]
    run = engine_run("Service_Action", variables=variables, session_id=emu.new_session()).ok()
    assert [(a["instance_id"], a["workflow_name"]) for a in emu.actions] == [(3, "Finish_MongoDB")]
    assert "Service instance 3 is FINISHED" in run.stdout


def test_find_and_set_instance_id_sets_it(engine_run, emu):
    emu.add_instance(_mongodb_instance())
    run = engine_run("Find_and_set_Instance_Id", variables=psa_variables(emu), args=["MongoDB", "mongo-1"],
                     session_id=emu.new_session()).ok()
    assert run.out["variables"]["INSTANCE_ID"] == "3"


def test_retrieve_variables_from_service_instance_id_copies_them(engine_run, emu):
    emu.add_instance(_mongodb_instance())
    run = engine_run("Retrieve_variables_from_service_instance_id", variables=psa_variables(emu),
                     args=["3", "USER", "DB_USER", "GREETING", "hello %{DB_USER}"], session_id=emu.new_session()).ok()
    assert run.out["variables"]["USER"] == "admin" and run.out["variables"]["GREETING"] == "hello admin"


def test_propagate_variables_to_current_service_stores_them(engine_run, emu):
    emu.add_instance(_mongodb_instance())
    run = engine_run("Propagate_variables_to_current_service", variables=psa_variables(emu, PCA_INSTANCE_ID="3",
                                                                                        TOKEN="t-1"),
                     args=["TOKEN", "VARIABLE_VALUE", "MODE", "replica"], session_id=emu.new_session()).ok()
    assert emu.instance(3)["variables"] == {"INSTANCE_NAME": "mongo-1", "DB_USER": "admin", "TOKEN": "t-1",
                                            "MODE": "replica"}
    assert run.out["writeback"] == {}


# --- on a real container engine (the engine tier: DOCKER_HOST, from tools/engine-up.sh) ----------------

@pytest.fixture(scope="module")
def docker():
    """The Docker API of DOCKER_HOST with the test image; skip without one (fail under CI=true)."""
    return require_engine()


@pytest.fixture
def container_name(docker):
    name = f"psa-bundled-{os.urandom(5).hex()}"
    yield name
    docker.remove(name)


def _docker_env():
    """What the bundled Docker scripts need to find the engine the tests use."""
    return {"DOCKER_HOST": os.environ["DOCKER_HOST"]} if os.environ.get("DOCKER_HOST") else {}


def _started(engine_run, emu, name):
    """Start_Docker_Service, bundled, as the deployment task runs it: the service serves its page."""
    variables = psa_variables(emu, INSTANCE_NAME=name, DOCKER_IMAGE=TEST_IMAGE, CONTAINER_PORT="80",
                              SERVICE_PORT="-1", PROXYFIED="false", DOCKER_STOP_TIMEOUT="1")
    start = engine_run("Start_Docker_Service", variables=variables, env=_docker_env()).ok()
    files = {p.name: p.read_text() for p in start.workdir.iterdir()}
    assert PAGE_MARKER in fetch_page(int(files[f"{name}_port"]))
    return variables, files


def _deployed(engine_run, emu, name, session):
    """Start_Docker_Service then Post_Start_Service, as the deployment task runs them."""
    env = _docker_env()
    variables, files = _started(engine_run, emu, name)
    post = engine_run("Post_Start_Service", variables=variables, session_id=session, files=files).ok()
    assert emu.instance(INSTANCE_ID)["instance_status"] == "RUNNING"
    return variables, post, env


@pytest.mark.engine
def test_engine_a_whole_lifecycle_of_bundled_scripts(engine_run, emu, docker, container_name):
    emu.add_instance(instance_json())
    session = emu.new_session()
    variables, post, env = _deployed(engine_run, emu, container_name, session)
    channels, tokens = post.out["channels"], post.out["node_tokens"]

    check = engine_run("Check_Instance_Status", variables=variables, session_id=session, channels=channels,
                       node_tokens=tokens, env=env).ok()
    assert check.out["variables"].get("LOG_CURSOR") and emu.requests_to("PUT", r"/serviceInstances/7$")[1:] == []

    trigger = engine_run("Pre_Trigger_Action", variables={"PCA_INSTANCE_ID": "7", "PA_JOB_ID": "60"},
                         args=["FINISH_LAUNCHED"], channels=channels).ok()
    finish = engine_run("Finish_Docker_Service", variables=trigger.out["variables"], env=env).ok()
    files = {p.name: p.read_text() for p in finish.workdir.iterdir()}
    assert files == {f"{container_name}_status": container_name}
    assert not docker.is_running(container_name)
    engine_run("Post_Trigger_Action", variables=psa_variables(emu, INSTANCE_NAME=container_name), args=["FINISHED"],
               session_id=session, channels=trigger.out["channels"], files=files).ok()
    assert emu.instance(INSTANCE_ID)["instance_status"] == "FINISHED"

    last = engine_run("Check_Instance_Status", variables=check.out["variables"], session_id=session,
                      channels=trigger.out["channels"], node_tokens=tokens, env=env).ok()
    assert last.out["variables"]["IS_FINISHED"] == "true"
    assert last.out["channels"] == {} and last.out["node_tokens"] == {NODE: []}


@pytest.mark.engine
def test_engine_a_dead_container_sets_error_in_one_check(engine_run, emu, docker, container_name):
    emu.add_instance(instance_json())
    session = emu.new_session()
    variables, post, env = _deployed(engine_run, emu, container_name, session)
    docker.stop(container_name, timeout=1)
    check = engine_run("Check_Instance_Status", variables=variables, session_id=session,
                       channels=post.out["channels"], node_tokens=post.out["node_tokens"], env=env)
    assert check.returncode != 0 and not check.out["completed"]
    assert f"container {container_name} is not running and no finish or pause was launched" in check.stderr
    assert emu.instance(INSTANCE_ID)["instance_status"] == "ERROR"
    assert check.out["variables"]["IS_FINISHED"] == "true"  # a live write: it sticks although the task fails


@pytest.mark.engine
def test_engine_bundled_pause_stops_the_container_and_keeps_it(engine_run, emu, docker, container_name):
    variables, _ = _started(engine_run, emu, container_name)
    pause = engine_run("Pause_Docker_Service", variables=variables, env=_docker_env()).ok()
    files = {p.name: p.read_text() for p in pause.workdir.iterdir()}
    assert files == {f"{container_name}_status": container_name}
    assert not docker.is_running(container_name) and docker.inspect(container_name) is not None


@pytest.mark.engine
def test_engine_bundled_resume_starts_the_stopped_container(engine_run, emu, docker, container_name):
    variables, started = _started(engine_run, emu, container_name)
    docker.stop(container_name, timeout=1)
    assert not docker.is_running(container_name)
    resume = engine_run("Resume_Docker_Service", variables=variables, env=_docker_env()).ok()
    files = {p.name: p.read_text() for p in resume.workdir.iterdir()}
    # The port read back after the start (Podman keeps it; Docker may publish another one).
    assert files == {f"{container_name}_status": container_name,
                     f"{container_name}_port": started[f"{container_name}_port"]}
    assert docker.is_running(container_name)
    assert PAGE_MARKER in fetch_page(int(started[f"{container_name}_port"]))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="a foreign owner needs chown, so root")
@pytest.mark.parametrize("swapped", ["parent", "leaf"])
def test_a_cache_swapped_while_scripts_run_never_runs_foreign_code(engine_run, tmp_path, swapped):
    """Someone flips a symlink on the cache's path, between our directory and theirs (their
    bytecode, their uid), as fast as they can while bundled scripts run: none of their code runs."""
    tag, marker = sys.implementation.cache_tag, tmp_path / "planted-code-ran"
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}).ok()  # fills tmp_path/bytecode/<tag>
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    os.rename(tmp_path / "bytecode", ours)
    shutil.copytree(ours, theirs)
    _plant(theirs / tag, marker)
    for path in [theirs, theirs / tag, *(theirs / tag).iterdir()]:
        os.chown(path, 65534, 65534)
    if swapped == "parent":  # bytecode -> ours | theirs
        link, targets = tmp_path / "bytecode", [ours, theirs]
    else:  # bytecode/<tag> -> ours/<tag> | theirs/<tag>
        (tmp_path / "bytecode").mkdir(mode=0o700)
        link, targets = tmp_path / "bytecode" / tag, [ours / tag, theirs / tag]
    os.symlink(targets[0], link)
    stop, flips = threading.Event(), [0]

    def flip():
        while not stop.is_set():
            flips[0] += 1
            staged = link.with_name(f".{link.name}.{flips[0]}")
            os.symlink(targets[flips[0] % 2], staged)
            os.replace(staged, link)  # atomic: the path always exists, pointing to one or the other

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    try:
        runs = [engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}) for _ in range(12)]
    finally:
        stop.set()
        flipper.join(timeout=10)
    assert flips[0] > 100
    assert not marker.exists(), "bytecode from a directory swapped in during the run was executed"
    for run in runs:
        assert run.ok().out["writeback"] == {"loop": "*/1 * * * *"}


@pytest.mark.parametrize("mode, used", [(0o777, False), (0o775, False), (0o757, False), (0o1777, True), (0o755, True)],
                         ids=["world-writable", "group-writable", "other-writable", "sticky-like-tmp", "ours"])
def test_a_cache_below_a_directory_others_can_write_is_not_used(engine_run, tmp_path, mode, used):
    """Who can write a directory above the cache can swap what is below it: such a cache is not
    read, unless that directory is sticky (as /tmp: others add entries, but cannot move ours)."""
    above, marker = tmp_path / "above", tmp_path / "planted-code-ran"
    above.mkdir(mode=0o700)
    env = {"PSA_SCRIPTS_CACHE": str(above / "bytecode")}
    engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}, env=env).ok()
    cache = above / "bytecode" / sys.implementation.cache_tag
    planted = _plant(cache, marker)
    above.chmod(mode)
    second = engine_run("Fetch_Logs", variables={"IS_FINISHED": "false"}, env=env)
    assert marker.exists() is used  # used: the planted code ran in place of our modules
    if not used:
        assert second.ok().out["writeback"] == {"loop": "*/1 * * * *"}
        assert {path: path.read_bytes() for path in sorted(cache.glob("*.bin"))} == planted  # nor written
