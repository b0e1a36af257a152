"""``psa graph``: a service's state machine, from the ``pca.states`` of its workflows.

Each workflow of a service (one ``pca.service.id``) is an action that moves an instance
from state to state; ``graph`` gathers them, adds the ERROR transitions the lifecycle
scripts make on failure, and draws the picture as Mermaid text (a ``stateDiagram-v2``, which
the common code hosts render in Markdown) or as Graphviz DOT, which ``render_svg`` hands to
Graphviz's ``dot`` (``dot -Tsvg``, run with an argument list, the text on its standard input).

``state_findings`` holds the checks ``psa validate`` makes on a whole service: a state no
action leaves, an action no state reaches, and no deployment (no transition from VOID).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .. import names
from ..errors import InputError
from .model import Workflow, WorkflowError, parse_workflow
from .states import ANY_STATE, VOID, parse_states

END_STATES = (names.FINISHED, "KILLED")  # nothing is expected to leave them
DOT_TIMEOUT = 30.0

# The lifecycle scripts that set ERROR when something fails, and from which side of the
# workflow's transition: "from" (the action failed: the instance was in FROM), "to" (the
# service, once in TO, died: the status loop's check).
ERROR_ON_FAILURE = {
    "Clean_Start_Service": ("from", "deployment failed"),
    "Check_Instance_Status": ("to", "container died"),
    "Post_Trigger_Action": ("from", "action failed"),
}


class GraphError(InputError):
    """Nothing to draw, or the drawing tool cannot run."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    failure: bool = False  # an ERROR the scripts set, not a workflow's declared transition


@dataclass
class Service:
    """One service's workflows and the transitions they make."""

    service_id: str
    workflows: List[Workflow] = field(default_factory=list)

    def transitions(self) -> List[Tuple[Workflow, str, str]]:
        found = []
        for workflow in self.workflows:
            info = workflow.job.info(names.GI_STATES) if workflow.job else None
            for source, target in (parse_states(info.value) or []) if info is not None else []:
                found.append((workflow, source, target))
        return found

    def states(self) -> List[str]:
        seen: Dict[str, None] = {}
        for _, source, target in self.transitions():
            for state in (source, target):
                if state != ANY_STATE:
                    seen.setdefault(state)
        for edge in self.failure_edges():
            seen.setdefault(edge.source)
            seen.setdefault(edge.target)
        return list(seen)

    def failure_edges(self) -> List[Edge]:
        edges = []
        for workflow in self.workflows:
            used = {ref.catalog.name for _, ref in workflow.job.scripts() if ref.catalog} if workflow.job else set()
            for script, (side, why) in ERROR_ON_FAILURE.items():
                if script not in used:
                    continue
                for _, source, target in [t for t in self.transitions() if t[0] is workflow]:
                    state = source if side == "from" else target
                    if state not in (ANY_STATE, names.ERROR):
                        edges.append(Edge(state, names.ERROR, why, failure=True))
        return list(dict.fromkeys(edges))

    def edges(self) -> List[Edge]:
        """Each declared transition (ALL expanded to every other state) and the failure edges,
        one edge a pair of states, its workflows joined in the label."""
        labels: Dict[Tuple[str, str], List[str]] = {}
        states = self.states()
        for workflow, source, target in self.transitions():
            sources = [s for s in states if s not in (target, VOID)] if source == ANY_STATE else [source]
            for each in sources:
                labels.setdefault((each, target), []).append(workflow.job.name)
        edges = [Edge(s, t, ", ".join(dict.fromkeys(names_))) for (s, t), names_ in labels.items()]
        failures: Dict[Tuple[str, str], List[str]] = {}
        for edge in self.failure_edges():
            if (edge.source, edge.target) not in labels:
                failures.setdefault((edge.source, edge.target), []).append(edge.label)
        edges += [Edge(s, t, ", ".join(whys), failure=True) for (s, t), whys in failures.items()]
        return edges


def load_services(paths: Sequence[Path]) -> List[Service]:
    """The services of the workflow files given and of the ``*.xml`` in the directories given."""
    files: List[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.rglob("*.xml"))
        elif path.exists():
            files.append(path)
        else:
            raise GraphError(f"no such file or directory: {path}")
    services: Dict[str, Service] = {}
    for file in files:
        try:
            workflow = parse_workflow(file)
        except WorkflowError:
            raise
        if workflow.job is None or workflow.job.info(names.GI_STATES) is None:
            continue  # not a PSA workflow: nothing to draw
        service_id = workflow.job.gi.get(names.GI_SERVICE_ID) or workflow.job.name
        services.setdefault(service_id, Service(service_id)).workflows.append(workflow)
    if not services:
        raise GraphError(f"no PSA workflow (a job with {names.GI_STATES}) in {', '.join(map(str, paths))}")
    return list(services.values())


def _state_id(state: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in state)


# What a name drawn in Mermaid may hold as it is; any other character is written as Mermaid's entity
# code (#<decimal>;), so a name (a job's, a service id) can never end its line, start a comment (%%)
# or a statement (;), or carry markup: a name holding "&#10;click X href javascript:..." stays text.
_MERMAID_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _.,-()")


def _mermaid_text(text: str) -> str:
    return "".join(c if c in _MERMAID_PLAIN else f"#{ord(c)};" for c in text)


def mermaid(service: Service) -> str:
    """The service's state machine as a Mermaid ``stateDiagram-v2``; every name quoted (``_mermaid_text``)."""
    lines = ["stateDiagram-v2", f"    %% {_mermaid_text(service.service_id)}: from the pca.states of its workflows"]
    states = service.states()
    if VOID in states:
        lines.append(f"    [*] --> {VOID}")
    for edge in service.edges():
        lines.append(f"    {_state_id(edge.source)} --> {_state_id(edge.target)}: {_mermaid_text(edge.label)}")
    for state in states:
        if state in END_STATES:
            lines.append(f"    {_state_id(state)} --> [*]")
    if names.ERROR in states:  # what the scripts set on failure, in red
        lines += ["    classDef failure fill:#fde2e2,stroke:#c0392b", f"    class {names.ERROR} failure"]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    """A DOT quoted string: backslashes and quotes escaped, control characters (a newline...) as spaces."""
    text = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(service: Service) -> str:
    """The service's state machine as Graphviz DOT."""
    lines = [f"digraph {_dot_text(service.service_id)} {{", "  rankdir=LR;",
             '  node [shape=box, style="rounded", fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for state in service.states():
        extra = ', color="red"' if state == names.ERROR else ""
        lines.append(f"  {_dot_text(state)} [label={_dot_text(state)}{extra}];")
    for edge in service.edges():
        style = ', style="dashed", color="red"' if edge.failure else ""
        lines.append(f"  {_dot_text(edge.source)} -> {_dot_text(edge.target)} [label={_dot_text(edge.label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(service: Service, dot_command: str = "dot") -> bytes:
    """The picture as SVG, drawn by Graphviz's ``dot`` (installed by the project's set-up:
    ``apt-get install graphviz``)."""
    program = shutil.which(dot_command)
    if program is None:
        raise GraphError(f"Graphviz's {dot_command!r} is not installed: apt-get install graphviz "
                         "(or use the Mermaid text, which needs nothing)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot(service).encode("utf-8"), capture_output=True,
                              timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise GraphError(f"{dot_command} took more than {DOT_TIMEOUT:g} s") from None
    if done.returncode != 0:
        raise GraphError(f"{dot_command} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


# --- the checks on a whole service ------------------------------------------------------------------
@dataclass(frozen=True)
class StateFinding:
    file: str
    line: int
    column: int
    message: str
    fix: str


def state_findings(service: Service) -> List[StateFinding]:
    """A state no action leaves (FINISHED and KILLED excepted), an action no state reaches,
    and a service no workflow starts (no transition from VOID)."""
    findings: List[StateFinding] = []
    transitions = service.transitions()
    reached = {VOID} | {target for _, _, target in transitions} | {e.target for e in service.failure_edges()}
    left = {source for _, source, _ in transitions}
    any_leaves = ANY_STATE in left

    def anchor(workflow: Workflow) -> Tuple[str, int, int]:
        info = workflow.job.info(names.GI_STATES)
        return workflow.source, info.line, info.column

    if not any(source == VOID for _, source, _ in transitions):
        first = service.workflows[0]
        findings.append(StateFinding(*anchor(first), f"service {service.service_id}: no workflow has a transition "
                                     "from VOID: nothing starts an instance",
                                     "give the deployment workflow (VOID,RUNNING) in pca.states"))
    for workflow, source, target in transitions:
        if target not in END_STATES and target not in left and not any_leaves and target != VOID:
            findings.append(StateFinding(*anchor(workflow), f"service {service.service_id}: state {target} "
                                         f"(reached by {workflow.job.name}) is left by no action: an instance "
                                         "there stays there", f"add an action from {target}, e.g. "
                                         f"({target},FINISHED) in the finish workflow's pca.states"))
    for workflow in service.workflows:
        sources = {source for w, source, _ in transitions if w is workflow}
        if sources and ANY_STATE not in sources and not sources & reached:
            findings.append(StateFinding(*anchor(workflow), f"service {service.service_id}: action "
                                         f"{workflow.job.name} starts from {', '.join(sorted(sources))}, which no "
                                         "workflow reaches: PSA never offers it",
                                         "start it from a state another workflow moves the instance to"))
    if names.ERROR in reached and names.ERROR not in left and not any_leaves:
        source = next((w for w in service.workflows if w.job and any(
            ref.catalog and ref.catalog.name in ERROR_ON_FAILURE for _, ref in w.job.scripts())), service.workflows[0])
        findings.append(StateFinding(*anchor(source), f"service {service.service_id}: state ERROR (set by the "
                                     "lifecycle scripts on failure) is left by no action: a failed instance "
                                     "cannot be finished", "add (ERROR,FINISHED) to the finish workflow's pca.states"))
    unique: Dict[Tuple[str, str], StateFinding] = {}
    for finding in findings:
        unique.setdefault((finding.file, finding.message), finding)
    return list(unique.values())
