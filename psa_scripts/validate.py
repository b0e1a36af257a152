"""``psa validate``: lint PSA workflow XML for the mistakes that break a service silently.

Each finding names the file and line, says what is wrong and how to fix it. Checked:
- generic information ``pca.service.id`` and ``pca.states`` present, ``pca.states`` parses
  as ``(FROM,TO)`` pairs, and a deployment workflow (one running Pre/Post_Start_Service or
  Start_Docker_Service) has a ``(VOID,...)`` transition;
- no variable spelt ``PROXIFIED`` (the proxy only reads ``PROXYFIED``);
- every task that runs after the deployment task (or after Pre_Trigger_Action in an action
  workflow) carries ``NODE_ACCESS_TOKEN=PSA_$INSTANCE_NAME``, so it runs where the container is;
- every script URL into our bucket names an object of the bundle, with ``language="cpython"``;
  a script in the wrong slot (a clean script as post...) is a warning;
- the trigger scripts get their argument, and a valid one.
Parsed by the one workflow model (``psa_scripts.workflow.model``), which keeps every position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from . import names
from .workflow.model import Workflow, WorkflowError, XmlElement, catalog_ref, parse_workflow

DEFAULT_BUCKET = "service-automation-python"
GROOVY_BUCKET = "service-automation"
TOKEN_VALUES = ("PSA_$INSTANCE_NAME", "PSA_${INSTANCE_NAME}")
DEPLOYMENT_SCRIPTS = ("Pre_Start_Service", "Post_Start_Service", "Start_Docker_Service")
_PAIR = r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)"
# The element holding a script, and the kind of script that slot runs.
SLOTS = {"selection": "Script/selection", "pre": "Script/pre", "scriptExecutable": "Script/task",
         "post": "Script/post", "cleaning": "Script/clean", "controlFlow": "Script/flow"}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    severity: str  # error | warning
    message: str
    fix: str

    def format(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}\n    fix: {self.fix}"


@dataclass
class Known:
    """What a workflow may reference: our buckets, their objects, each script's kind and arguments."""

    buckets: Set[str] = field(default_factory=lambda: {DEFAULT_BUCKET})
    objects: Set[str] = field(default_factory=set)
    kinds: Dict[str, str] = field(default_factory=dict)
    arguments: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # first argument's values


def default_known(bundles_dir: Optional[Path] = None, buckets: Sequence[str] = ()) -> Known:
    """The scripts of SCRIPTS, the workflows and author scripts of ``bundles_dir``, their buckets."""
    from .scripts import SCRIPTS
    from .scripts.post_trigger_action import TARGETS
    from .scripts.pre_trigger_action import ACTIONS

    known = Known(kinds={name: info.kind for name, info in SCRIPTS.items()},
                  arguments={"Pre_Trigger_Action": ACTIONS, "Post_Trigger_Action": TARGETS})
    known.objects = set(known.kinds)
    if bundles_dir is not None and bundles_dir.is_dir():
        from .bundler import author_scripts, default_buckets, package_dirs

        known.objects |= {p.stem for d in package_dirs(bundles_dir) for p in d.glob("*.xml")}
        known.kinds.update({script.name: script.kind for script in author_scripts(bundles_dir)})
        known.objects |= set(known.kinds)
        known.buckets |= set(default_buckets(bundles_dir))
    known.buckets |= set(buckets)
    return known


@dataclass
class _Script:
    task: str
    slot: str
    url: str
    language: Optional[str]
    arguments: List[str]
    line: int

    @property
    def target(self) -> Optional[Tuple[str, str]]:
        """(bucket, object name) when the URL points into a Catalog."""
        found = catalog_ref(self.url)
        return (found.bucket, found.name) if found else None


def _scripts(task: XmlElement) -> List[_Script]:
    found = []
    for slot in SLOTS:
        for holder in task.findall(slot):
            for file_element in holder.iter("file"):
                arguments = [a.get("value", "") for a in file_element.iter("argument")]
                found.append(_Script(task.get("name", "?"), slot, file_element.get("url", ""),
                                     file_element.get("language"), arguments, file_element.line))
    return found


# --- the checks -----------------------------------------------------------------------------------
class _Checker:
    def __init__(self, path: str, tree: Workflow, known: Known) -> None:
        self.path, self.tree, self.known = path, tree, known
        self.findings: List[Finding] = []

    def report(self, element_or_line, message: str, fix: str, severity: str = "error") -> None:
        line = element_or_line if isinstance(element_or_line, int) else element_or_line.line
        self.findings.append(Finding(self.path, line, severity, message, fix))

    def run(self) -> List[Finding]:
        job = self.tree.root
        tasks = {t.get("name", "?"): t for t in job.findall("taskFlow/task")}
        scripts = {name: _scripts(task) for name, task in tasks.items()}
        referenced = {s.target[1] for group in scripts.values() for s in group if s.target}
        self.check_generic_information(job, deployment=bool(referenced & set(DEPLOYMENT_SCRIPTS)))
        self.check_variables(job)
        for group in scripts.values():
            for script in group:
                self.check_script(script)
        self.check_node_tokens(tasks, scripts)
        return self.findings

    def check_generic_information(self, job: XmlElement, deployment: bool) -> None:
        holder = job.find("genericInformation")
        infos = {i.get("name"): i for i in job.findall("genericInformation/info")}
        anchor = holder if holder is not None else job
        if names.GI_SERVICE_ID not in infos:
            self.report(anchor, f"generic information {names.GI_SERVICE_ID} is missing: PSA does not see "
                        "this workflow as part of a service",
                        f'add <info name="{names.GI_SERVICE_ID}" value="My_Service"/> to the job\'s '
                        "<genericInformation>, with the same value in every workflow of the service")
        states = infos.get(names.GI_STATES)
        if states is None:
            self.report(anchor, f"generic information {names.GI_STATES} is missing: PSA cannot tell "
                        "which instance states this workflow moves between",
                        f'add <info name="{names.GI_STATES}" value="(VOID,RUNNING)"/> (a deployment) or '
                        'e.g. "(RUNNING,FINISHED)(ERROR,FINISHED)" (a termination)')
            return
        value = states.get("value", "")
        pairs = parse_states(value)
        if pairs is None:
            self.report(states, f"{names.GI_STATES} value {value!r} does not parse",
                        "write one or more (FROM,TO) pairs with nothing between them, e.g. "
                        "(VOID,RUNNING) or (RUNNING,FINISHED)(ERROR,FINISHED); TO cannot be ALL")
        elif deployment and not any(source == "VOID" for source, _ in pairs):
            self.report(states, f"this workflow deploys the service but {names.GI_STATES}={value!r} "
                        "has no transition from VOID: PSA never offers it to start an instance",
                        'start the value with (VOID,RUNNING)')

    def check_variables(self, job: XmlElement) -> None:
        for variable in job.iter("variable"):
            if variable.get("name") == names.PROXYFIED_MISSPELT:
                self.report(variable, f"variable {names.PROXYFIED_MISSPELT} is ignored: the scripts read "
                            f"{names.PROXYFIED}, so the proxy is silently off",
                            f'rename it to {names.PROXYFIED} (with a Y)')

    def check_script(self, script: _Script) -> None:
        target = script.target
        if target is None:
            return
        bucket, name = target
        where = f"{script.slot} script of task {script.task}"
        if bucket == GROOVY_BUCKET and script.language == "cpython":
            self.report(script.line, f"{where}: {name} of bucket {GROOVY_BUCKET} is a Groovy script, "
                        "run here as cpython", f"use {DEFAULT_BUCKET} (the Python scripts) or language=\"groovy\"")
            return
        if bucket not in self.known.buckets:
            return
        if name not in self.known.objects:
            self.report(script.line, f"{where}: {name} is not an object of the bundle (bucket {bucket})",
                        "check the name's spelling and case; the scripts are: "
                        + ", ".join(sorted(self.known.kinds)))
            return
        if script.language != "cpython":
            said = "has no language" if script.language is None else f"has language={script.language!r}"
            self.report(script.line, f"{where}: {name} {said}; our scripts run on the cpython engine",
                        'set language="cpython" on the <file> element')
        kind = self.known.kinds.get(name)
        if kind and kind != SLOTS[script.slot]:
            self.report(script.line, f"{where}: {name} is a {kind} but runs as a {SLOTS[script.slot]}",
                        f"move it to the slot of a {kind}", severity="warning")
        allowed = self.known.arguments.get(name)
        if allowed is not None:
            given = script.arguments[0].strip() if script.arguments else ""
            if not given:
                self.report(script.line, f"{where}: {name} needs an argument (one of {', '.join(allowed)})",
                            f'add <arguments><argument value="{allowed[0]}"/></arguments> inside the <file> element')
            elif given not in allowed:
                self.report(script.line, f"{where}: {name} argument {given!r} is not one of {', '.join(allowed)}",
                            "use one of those values, in capitals")

    def check_node_tokens(self, tasks: Mapping[str, XmlElement], scripts: Mapping[str, List[_Script]]) -> None:
        anchors = {name for name, group in scripts.items() for s in group
                   if s.target and ((s.slot == "post" and s.target[1] == "Post_Start_Service")
                                    or (s.slot == "scriptExecutable" and s.target[1] == "Pre_Trigger_Action"))}
        depends = {name: {d.get("ref") for d in task.findall("depends/task")} for name, task in tasks.items()}
        for name, task in tasks.items():
            after = _ancestors(name, depends) & anchors
            if not after or name in anchors:
                continue
            token = next((i for i in task.findall("genericInformation/info")
                          if i.get("name") == names.GI_NODE_ACCESS_TOKEN), None)
            first = sorted(after)[0]
            if token is None:
                self.report(task, f"task {name} runs after {first} but has no {names.GI_NODE_ACCESS_TOKEN}: "
                            "it may run on another node than the service's container",
                            f'add <genericInformation><info name="{names.GI_NODE_ACCESS_TOKEN}" '
                            f'value="{TOKEN_VALUES[0]}"/></genericInformation> to the task')
            elif token.get("value", "").strip() not in TOKEN_VALUES:
                self.report(token, f"task {name}: {names.GI_NODE_ACCESS_TOKEN}={token.get('value')!r} is not "
                            "the service's token (Post_Start_Service adds PSA_<INSTANCE_NAME>)",
                            f'set value="{TOKEN_VALUES[0]}"')


def _ancestors(name: str, depends: Mapping[str, Set[Optional[str]]]) -> Set[str]:
    seen: Set[str] = set()
    pending = [d for d in depends.get(name, ()) if d]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += [d for d in depends.get(current, ()) if d]
    return seen


def parse_states(value: str) -> Optional[List[Tuple[str, str]]]:
    """The (FROM, TO) pairs of a ``pca.states`` value, or None when it does not parse."""
    text = value.strip()
    if not re.fullmatch(f"(?:{_PAIR}\\s*)+", text):
        return None
    pairs = [(m.group(1), m.group(2)) for m in re.finditer(_PAIR, text)]
    return None if any(target == "ALL" for _, target in pairs) else pairs


# --- files and directories -------------------------------------------------------------------------
def validate_file(path: Path, known: Known, *, explicit: bool = True) -> List[Finding]:
    """The findings of one workflow file (a non-workflow XML found in a directory is skipped)."""
    shown = str(path)
    try:
        tree = parse_workflow(path)
    except WorkflowError as error:
        reading = error.reason.startswith("cannot read")
        return [Finding(shown, error.line, "error", error.reason,
                        "check the path and its permissions" if reading else
                        "fix the XML syntax at that line (an unclosed tag, a stray & or <)")]
    if tree.root.tag != "job":
        if not explicit:
            return []
        return [Finding(shown, tree.root.line, "warning",
                        f"not a ProActive workflow (root element <{tree.root.tag}>, expected <job>): not checked",
                        "give the workflow's XML file")]
    return _Checker(shown, tree, known).run()


def validate_paths(paths: Iterable[Path], known: Known) -> Tuple[List[Finding], int]:
    """The findings of every file given and every ``*.xml`` under the directories given,
    and how many workflow files were looked at."""
    findings: List[Finding] = []
    count = 0
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*.xml")):
                findings += validate_file(child, known, explicit=False)
                count += 1
        else:
            findings += validate_file(path, known)
            count += 1
    return findings, count
