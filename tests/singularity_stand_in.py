"""A recording stand-in for the ``singularity`` command (no Singularity engine can be installed here).

``StandIn(directory)`` writes an executable ``singularity`` (a small Python script) into
``directory``. It answers the two commands our engine uses the way the Apptainer sources say
``singularity`` does (``instance list --json [name]``, ``instance stop name``), from a JSON
state file the test controls, and appends each argv it was run with to a log the test reads.
What a real engine would answer beyond that is not observed: docs/groovy-bucket.md marks it unverified.
"""

import json
import os
import sys
from pathlib import Path

SCRIPT = r'''#!{python}
import fnmatch, json, sys, time
STATE = {state!r}
with open(STATE) as handle:
    state = json.load(handle)
with open(STATE + ".argv", "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
args = sys.argv[1:]
if state.get("hang"):
    time.sleep(state["hang"])
if args[:2] == ["instance", "list"]:
    rest = args[2:]
    as_json = "--json" in rest or "-j" in rest
    pattern = ([a for a in rest if not a.startswith("-")] or ["*"])[0]
    if state.get("list_error"):
        print("FATAL:   " + state["list_error"], file=sys.stderr)
        sys.exit(255)
    if "list_output" in state:
        print(state["list_output"])
        sys.exit(0)
    found = [dict(instance=name, pid=4242 + i, img="/images/" + name + ".sif", ip="",
                  logErrPath="/root/.singularity/instances/logs/host/root/" + name + ".err",
                  logOutPath="/root/.singularity/instances/logs/host/root/" + name + ".out")
             for i, name in enumerate(state["instances"]) if fnmatch.fnmatchcase(name, pattern)]
    if as_json:
        print(json.dumps(dict(instances=found), indent="\t"))
    else:
        print("INSTANCE NAME    PID      IP    IMAGE")
        for entry in found:
            print(entry["instance"], entry["pid"], "", entry["img"])
    sys.exit(0)
if args[:2] == ["instance", "stop"] and len(args) == 3:
    name = args[2]
    if "stop_output" in state:  # a failure that says nothing on stderr
        print(state["stop_output"], end="")
        sys.exit(3)
    if state.get("stop_error"):
        print("FATAL:   " + state["stop_error"], file=sys.stderr)
        sys.exit(255)
    if name not in state["instances"]:
        print("FATAL:   no instance found", file=sys.stderr)
        sys.exit(255)
    state["instances"].remove(name)
    with open(STATE, "w") as handle:
        json.dump(state, handle)
    print("INFO:    Stopping " + name + " instance of /images/" + name + ".sif (PID=4242)", file=sys.stderr)
    sys.exit(0)
print("Error: unknown command " + " ".join(args), file=sys.stderr)
sys.exit(1)
'''


class StandIn:
    """The stand-in ``singularity`` in ``directory``: ``path``, its state, the argv it was run with."""

    def __init__(self, directory: Path, instances=()) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.state_file = directory / "singularity-state.json"
        self.path = directory / "singularity"
        self.set(instances=list(instances))
        self.path.write_text(SCRIPT.format(python=sys.executable, state=str(self.state_file)))
        self.path.chmod(0o755)

    def set(self, **state) -> None:
        """Replace the state: ``instances`` (running names), ``stop_error`` (``instance stop``
        fails saying it on stderr), ``stop_output`` (it fails with exit 3 printing only this on
        stdout), ``list_error`` (``instance list`` fails saying it), ``hang`` (seconds),
        ``list_output`` (what ``instance list`` prints instead)."""
        state.setdefault("instances", [])
        self.state_file.write_text(json.dumps(state))

    @property
    def instances(self):
        return json.loads(self.state_file.read_text())["instances"]

    @property
    def argv(self):
        """Every argv (without the program) the stand-in was run with, in order."""
        log = Path(str(self.state_file) + ".argv")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def env_path(self) -> str:
        """A PATH with the stand-in first."""
        return os.pathsep.join([str(self.directory), os.environ.get("PATH", os.defpath)])
