"""``psa validate``: what ProActive would refuse, and what would break a PSA service.

Two families of rules, each with a code (``psa validate --explain CODE`` prints its paragraph):

- ``PA1xx`` — what the scheduler's job factory refuses at parse or submission (the job never
  runs): ``psa_scripts.workflow.schema``.
- ``PSA2xx`` — what ProActive accepts but breaks the service: missing or misplaced lifecycle
  scripts, a status loop that never ends, variables a script requires that nobody sets, action
  workflows that contradict their transitions, tasks that act on the service's node without
  its token, catalog references that point nowhere.

Precision first: a rule fires only on what it can tell from the workflow, and the rules about a
service's shape judge only a service's workflows (its package says ``Workflow/psa``, or it carries
``pca.*`` generic information, or, a loose file, it runs lifecycle scripts). They are tried on the
whole export of ProActive's public examples (622 workflows, 105 of them ``Workflow/psa``): no
service error on a standard workflow, no error on a service's (docs/validate.md has the numbers).

A finding is silenced where it stands by ``<!-- psa: ignore[CODE] -->`` (codes comma-separated;
``ignore[all]`` for every code) anywhere inside the element it is reported on, or inside the
enclosing ``<task>`` or the ``<job>``; or by the generic information
``<info name="psa.validate.ignore" value="CODE,CODE"/>`` of the task or the job.
Parsed by the one workflow model (``psa_scripts.workflow.model``), which keeps every position.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from . import names
from .author_needs import AuthorNeeds, author_needs
from .contract import PROVIDED
from .errors import InputError
from .package_kinds import PackageKinds, is_service_kind
from .suggest import closest, did_you_mean
from .workflow import schema
from .workflow.inline import reads_variable, writes_variable, written_variables
from .workflow.model import CatalogRef, Info, Job, ScriptRef, Task, Workflow, WorkflowError, XmlElement, parse_workflow
from .workflow.states import KNOWN_STATES, VOID, parse_states

DEFAULT_BUCKET = "service-automation-python"
GROOVY_BUCKET = "service-automation"
TOKEN_VALUES = ("PSA_$INSTANCE_NAME", "PSA_${INSTANCE_NAME}")
IGNORE_INFO = "psa.validate.ignore"
_IGNORE_COMMENT = re.compile(r"<!--\s*psa:\s*ignore\[([A-Za-z0-9_, ]+)\]\s*-->")

# The objects of the Groovy bucket ``service-automation`` (PcaScripts in ProActive's public
# examples) and the language each is written in.
GROOVY_OBJECTS = {
    **{name: "groovy" for name in (
        "Add_deployments_and_update_service", "Check_Instance_Status", "Check_Instance_Status_Singularity",
        "Check_Not_Used_By_Other_Service", "Clean_Start_Service", "Clean_Trigger_Action", "Fetch_Logs",
        "Find_and_set_Instance_Id", "Loop_over_service_instance_status", "Post_Start_Service",
        "Post_Trigger_Action", "Pre_Start_Service", "Pre_Trigger_Action", "Propagate_variables_to_current_service",
        "Retrieve_variables_from_service_instance_id", "Service_Action", "Service_Start",
        "Set_service_FINISHED_if_all_clean_OK", "Update_service_and_remove_tokens")},
    **{name: "bash" for name in ("Finish_Action", "Finish_Action_Singularity", "Pause_Action",
                                 "Pause_Action_Singularity", "Resume_Action", "Resume_Action_Singularity")},
}
# Groovy objects that act on the service's node (its container, its localspace files).
GROOVY_ON_NODE = {"Check_Instance_Status", "Check_Instance_Status_Singularity", "Finish_Action",
                  "Finish_Action_Singularity", "Pause_Action", "Pause_Action_Singularity", "Resume_Action",
                  "Resume_Action_Singularity", "Post_Trigger_Action"}
# The slots each lifecycle script works in, whatever its bucket (a pre script has the bindings of
# a task script, so an action's first step may be either; a clean script has no localspace).
LIFECYCLE_SLOTS = {
    "Pre_Start_Service": ("pre", "executable"), "Post_Start_Service": ("post",),
    "Clean_Start_Service": ("cleaning",), "Check_Instance_Status": ("executable",), "Fetch_Logs": ("flow",),
    "Pre_Trigger_Action": ("executable", "pre"), "Post_Trigger_Action": ("post",),
    "Clean_Trigger_Action": ("cleaning", "post"), "Check_Not_Used_By_Other_Service": ("selection",),
    "Start_Docker_Service": ("executable",), "Finish_Docker_Service": ("executable",),
    "Pause_Docker_Service": ("executable",), "Resume_Docker_Service": ("executable",),
    "Finish_Action": ("executable",), "Pause_Action": ("executable",), "Resume_Action": ("executable",),
}
# The task a deployment places on a free node: where the token is added, so it carries none.
ANCHOR_SCRIPTS = ("Post_Start_Service", "Start_Docker_Service", "Check_Not_Used_By_Other_Service")
# Variables the scheduler gives a task beyond PROVIDED (ProActive's documentation, "Job and task
# variables"): a URL or a token may name them.
SCHEDULER_VARIABLES = frozenset({"PA_TASK_REPLICATION", "PA_TASK_PROGRESS_FILE", "PA_SCHEDULER_HOME",
                                 "PA_NODESFILE", "PA_NODESNUMBER", "PA_JOB_PRIORITY", "PA_USER_HOME"})
# ${NAME}: what the job factory substitutes in a script URL.
_URL_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# $NAME or ${NAME} in a generic information value (substituted when the task runs).
_GI_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
# What each trigger argument means, as a transition's target.
ACTION_TARGETS = {"FINISH_LAUNCHED": names.FINISHED, "PAUSE_LAUNCHED": names.PAUSED,
                  "RESUME_LAUNCHED": names.RUNNING}

RULES: Dict[str, Tuple[str, str]] = {
    # code: (title, explanation)
    "PA100": ("XML not well formed", "The scheduler cannot parse the file: an unclosed tag, a stray '&' or '<', "
              "a wrong encoding. Nothing else is checked until it parses."),
    "PA101": ("unknown namespace", "A job is read against the jobdescriptor schema named by its namespace, "
              "urn:proactive:jobdescriptor:3.0 to 3.14 (3.14 needs ProActive 13.1 or later). Another namespace, "
              "or none, is refused at submission."),
    "PA102": ("element out of order or repeated", "The schema fixes the order of each element's children (e.g. in a "
              "task: description, variables, genericInformation, depends, ..., selection, forkEnvironment, pre, the "
              "executable, controlFlow, post, cleaning) and how often each may appear (one <script> in a <pre>, "
              "<post> or <scriptExecutable>, one <file> or <code> in a script, one <arguments>). The job factory "
              "refuses any other order or count."),
    "PA103": ("unknown element", "An element the schema does not define where it stands (a typo, a Studio-only "
              "element, an element of another version) makes the job invalid."),
    "PA104": ("unknown attribute", "An attribute the schema does not define on that element makes the job invalid; "
              "names are case-sensitive (onTaskError, not onTaskerror)."),
    "PA105": ("invalid name", "Job names need two characters or more; task, variable and generic information names "
              "are XML names: a letter or '_' first, then letters, digits, '_', '.', '-' (no space)."),
    "PA106": ("duplicate task name", "Task names identify tasks (dependencies, control flow, results): each must be "
              "unique in the job."),
    "PA107": ("reference to no task", "A <depends><task ref>, a loop target or an if target/else/continuation must "
              "name a task of the same job."),
    "PA108": ("dependency cycle", "Dependencies must form an acyclic graph; a repetition is written with "
              "<controlFlow><loop target=...>."),
    "PA109": ("invalid attribute value", "Enumerated and typed attributes (priority, onTaskError, restartTaskOnError, "
              "fork, walltime, block, script type, access modes...) accept only the schema's values, or a ${VARIABLE} "
              "where the schema allows one."),
    "PA110": ("script file without a usable location", "A script <file> needs url or path; a URL must be absolute "
              "once ${PA_CATALOG_REST_URL} is substituted, or the job is refused at submission."),
    "PA111": ("variable model does not parse", "A model starting with PA: must name a type ProActive knows "
              "(PA:INTEGER, PA:BOOLEAN, PA:LIST(a,b), PA:REGEXP(...), ...) with a well-formed parameter; the job is "
              "refused at submission otherwise."),
    "PA112": ("variable value rejected by its model", "At submission the scheduler checks each variable's value "
              "against its model (a number in range, one of a list, a match of a regular expression...)."),
    "PA113": ("required element or attribute missing", "The schema requires, e.g., a job name, a <taskFlow>, an "
              "executable in each task, a value on each variable and argument, a language on inline code, "
              "includes and accessMode on <files>, a <script> in a <scriptExecutable>, an <info> in a "
              "<genericInformation> (an empty list element is refused)."),
    "PA114": ("text where the schema allows none", "Text may stand only in <description>, <code> and the entries "
              "of <metadata>; anywhere else the schema allows white space only, and the job factory refuses "
              "stray characters (a word pasted between two elements, a script written outside <code>)."),
    "PA115": ("control flow the scheduler refuses", "At submission the scheduler checks the control flow (ProActive's "
              "FlowChecker): a loop closes a task block (or loops on one task without block attribute) and its target "
              "has at most one dependency; an if branches to two different tasks, each the target of one if only, "
              "and without a continuation they depend on no task; a task a replicate runs depends on that task "
              "only, does not end a block, and has a task depending on it (the merge point)."),
    "PSA201": ("no pca.service.id", "PSA groups a service's workflows by the generic information pca.service.id; "
              "without it the workflow is not part of any service."),
    "PSA202": ("pca.states missing or malformed", "pca.states lists the transitions a workflow performs as (FROM,TO) "
              "pairs; PSA offers an action only from its FROM states. TO cannot be ALL."),
    "PSA203": ("deployment without VOID", "A workflow that deploys a service must have a (VOID,...) transition, or PSA "
              "never offers it to start an instance."),
    "PSA204": ("PROXIFIED misspelling", "The scripts read PROXYFIED; a variable spelt PROXIFIED silently leaves the "
              "proxy off."),
    "PSA205": ("unknown instance state", "A state of pca.states that is not a state PSA or the lifecycle scripts "
               "know (VOID, RUNNING, PAUSED, STOPPED, FINISHED, ERROR, KILLED) but is one letter or two away from "
               "one is a typo: no instance is ever in (RUNING,FINISHED)'s RUNING, so the action is never offered. "
               "A service's own states (far from every known one) are not judged."),
    "PSA210": ("deployment script missing", "A deployment on the lifecycle scripts needs Post_Start_Service (post) and "
              "Clean_Start_Service (cleaning) on its deployment task, and Pre_Start_Service (pre) when it proxies: "
              "without them PSA never sees the service RUNNING, a failure never shows ERROR, or the proxy URL is "
              "never made. A script of the service's own that writes PROXYFIED_URL stands for Pre_Start_Service."),
    "PSA211": ("script in the wrong slot", "Each lifecycle script reads what its slot provides (a post script the "
              "task's files, a clean script no localspace, a flow script sets loop): in another slot it fails at "
              "run time."),
    "PSA212": ("broken status loop", "The status loop is a task running Check_Instance_Status whose loop control "
              "script is Fetch_Logs and whose loop targets itself; a loop back to the deployment task would "
              "redeploy the service every minute. A loop script of the service's own that reads IS_FINISHED may "
              "stand for Fetch_Logs, and Fetch_Logs may loop on an executable of its own that sets IS_FINISHED."),
    "PSA213": ("required variable never set", "A script's CONTRACT lists the variables it requires; a workflow that "
              "neither declares them nor has a script write them fails when the script runs."),
    "PSA214": ("invalid default INSTANCE_NAME", "INSTANCE_NAME names the container, files and the node token: it must "
              "match [a-zA-Z0-9][a-zA-Z0-9_.-]* once $PA_JOB_ID is substituted."),
    "PSA215": ("variable required through an author's script never set", "A script of the author's own "
               "(package.json \"scripts\") requires what its CONTRACT declares and what the library scripts it "
               "calls require (a start script that calls Start_Docker_Service needs DOCKER_IMAGE); read from its "
               "source, never run. A workflow that runs it and never sets such a variable fails at run time."),
    "PSA220": ("action script missing", "An action on the Python lifecycle scripts needs Pre_Trigger_Action (first "
              "task), Post_Trigger_Action (post of the action task) and Clean_Trigger_Action (its cleaning), or the "
              "instance status is never updated and node tokens are left behind. A multi-deployment service's "
              "Set_service_FINISHED_if_all_clean_OK and Update_service_and_remove_tokens stand for the last two."),
    "PSA221": ("trigger argument contradicts the action", "Pre_Trigger_Action's argument (FINISH_LAUNCHED, "
              "PAUSE_LAUNCHED, RESUME_LAUNCHED) and Post_Trigger_Action's (FINISHED, PAUSED, RUNNING) must agree "
              "with each other and with the workflow's pca.states target."),
    "PSA222": ("pca.service.id differs", "Every workflow of a service shares one pca.service.id; an action with "
              "another id belongs to another service and is never offered on this one."),
    "PSA223": ("action from VOID", "Pre_Trigger_Action, Post_Trigger_Action and Clean_Trigger_Action act on "
               "an existing instance; PSA offers a transition from VOID only to create one. An action workflow "
               "whose pca.states starts from VOID can never act on an instance."),
    "PSA224": ("task on the service's node without its token", "A task that acts on the service's container or "
              "files must carry NODE_ACCESS_TOKEN=PSA_$INSTANCE_NAME (on the task or the job) to run on the node the "
              "deployment holds; the deployment task itself, and tasks that do not touch the node, need none."),
    "PSA225": ("node token of another value", "A task that acts on the service's node must carry the token the "
               "lifecycle scripts add to that node, NODE_ACCESS_TOKEN=PSA_$INSTANCE_NAME. Another value (a typo such "
               "as PSA_$INSTANCE_NAM, a missing PSA_ prefix) names a token no node holds: the task waits forever. A "
               "value that is one reference to another variable ($MY_TOKEN) is another convention, not judged."),
    "PSA230": ("unknown catalog object", "A script URL into a known bucket (ours, the author's, the Groovy "
              "service-automation bucket) names no object of it: the script fails to download at run time."),
    "PSA231": ("script run in the wrong language", "Our scripts are Python (language cpython); the Groovy bucket's "
              "are groovy or bash. Run in another engine they fail at once."),
    "PSA232": ("trigger argument missing or invalid", "Pre_Trigger_Action and Post_Trigger_Action take one argument "
              "from a fixed list; without it (or with another value) they fail at run time."),
    "PSA233": ("undefined variable in a script URL", "The job factory substitutes ${NAME} in a script URL with the "
               "job's variables and those ProActive defines (PA_CATALOG_REST_URL, PA_SCHEDULER_REST_URL, ...). A name "
               "nothing defines stays as it is and the script is never found (.../resources/${SCRIPT}/raw). At the "
               "start of the URL (${PA_CATALOG_REST_ULR}/...) it leaves no protocol: the job factory refuses the job, "
               "which PA110 reports (with its did-you-mean), not this rule."),
    "PSA240": ("service state machine", "Across the workflows of one service (validated together): a state an "
              "instance reaches but no action leaves (FINISHED and KILLED excepted, ERROR included), an action "
              "starting from a state no workflow reaches, a service no workflow starts from VOID. Warnings: the "
              "files given may not be the whole service."),
}


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    severity: str  # error | warning
    message: str
    fix: str
    code: str = ""
    column: int = 1

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.code} {self.severity}: {self.message}\n    fix: {self.fix}"

    def as_dict(self) -> Dict[str, object]:
        return asdict(self)


@dataclass
class Known:
    """What a workflow may reference: our buckets, their objects, each script's kind and arguments."""

    buckets: Set[str] = field(default_factory=lambda: {DEFAULT_BUCKET})
    objects: Set[str] = field(default_factory=set)
    kinds: Dict[str, str] = field(default_factory=dict)
    arguments: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # first argument's values
    contracts: Dict[str, object] = field(default_factory=dict)  # script name -> Contract
    authors: Dict[str, AuthorNeeds] = field(default_factory=dict)  # the author's script name -> its needs


def default_known(bundles_dir: Optional[Path] = None, buckets: Sequence[str] = (),
                  search_path: Sequence[Path] = ()) -> Known:
    """The scripts of SCRIPTS, the workflows and author scripts of ``bundles_dir``, their buckets.
    The author's modules are read from ``search_path`` (``psa bundle --path``), the current
    directory and the one holding ``bundles_dir``."""
    from .scripts import SCRIPTS

    known = Known(kinds={name: info.kind for name, info in SCRIPTS.items()})
    for name, info in SCRIPTS.items():
        contract = info.contract
        known.contracts[name] = contract
        if contract.args and contract.args[0].choices and contract.args[0].required:
            known.arguments[name] = contract.args[0].choices
    known.objects = set(known.kinds)
    if bundles_dir is not None and bundles_dir.is_dir():
        from .bundler import author_scripts, default_buckets, package_dirs

        known.objects |= {p.stem for d in package_dirs(bundles_dir) for p in d.glob("*.xml")}
        search_path = [*search_path, Path.cwd(), bundles_dir.resolve().parent]
        script_modules = {info.module: name for name, info in SCRIPTS.items()}
        for script in author_scripts(bundles_dir):
            known.kinds[script.name] = script.kind
            known.authors[script.name] = author_needs(script.module, search_path, script_modules, known.contracts)
        known.objects |= set(known.kinds)
        known.buckets |= set(default_buckets(bundles_dir))
    known.buckets |= set(buckets)
    return known


# --- one workflow -----------------------------------------------------------------------------------
@dataclass
class _Context:
    """What the checks of one file may know of its siblings (the other workflows validated)."""

    service_variables: Dict[str, Dict[str, str]] = field(default_factory=dict)  # service id -> variables
    deployment_ids: Dict[Path, Set[str]] = field(default_factory=dict)  # directory -> deployment service ids


def _truthy(value: Optional[str]) -> bool:
    return str(value or "").strip().lower() in ("true", "yes", "on", "1")


class _Checker:
    def __init__(self, path: Path, workflow: Workflow, known: Known, context: _Context,
                 kind: Optional[str] = None) -> None:
        self.path, self.workflow, self.known, self.context = path, workflow, known, context
        self.job: Job = workflow.job  # type: ignore[assignment]
        self.kind = kind  # what its package declares it (None: a loose file)
        self.findings: List[Finding] = []

    def report(self, code: str, where, message: str, fix: str, severity: str = "error") -> None:
        self.findings.append(Finding(str(self.path), where.line, severity, message, fix, code, where.column))

    # -- helpers
    def bucket_of(self, ref: CatalogRef) -> str:
        """The bucket a reference means: its own, or the known bucket it misspells when that bucket
        holds the object (reported once, PSA230; the other rules judge the script it means)."""
        if ref.bucket in self.known.buckets or ref.bucket in (GROOVY_BUCKET, DEFAULT_BUCKET):
            return ref.bucket  # (the two public buckets are close names, not misspellings of each other)
        meant = closest(ref.bucket, self.known.buckets | {GROOVY_BUCKET})
        if meant is not None and ref.name in (GROOVY_OBJECTS if meant == GROOVY_BUCKET else self.known.objects):
            return meant
        return ref.bucket

    def name_of(self, script: ScriptRef) -> Optional[str]:
        """The lifecycle name of a catalog script in a known bucket (ours, the author's, Groovy)."""
        ref = script.catalog
        if ref is None:
            return None
        bucket = self.bucket_of(ref)
        return ref.name if bucket in self.known.buckets or bucket == GROOVY_BUCKET else None

    def ours(self, script: ScriptRef) -> bool:
        ref = script.catalog
        return ref is not None and self.bucket_of(ref) in self.known.buckets

    def scripts_named(self, name: str) -> List[Tuple[Task, ScriptRef]]:
        return [(task, script) for task, script in self.job.scripts() if self.name_of(script) == name]

    def states(self) -> Optional[List[Tuple[str, str]]]:
        info = self.job.info(names.GI_STATES)
        return parse_states(info.value) if info is not None else None

    def is_deployment(self) -> bool:
        pairs = self.states() or []
        return any(source == "VOID" for source, _ in pairs) or bool(
            self.scripts_named("Post_Start_Service") or self.scripts_named("Start_Docker_Service"))

    # -- the checks
    def run(self) -> List[Finding]:
        for problem in schema.problems(self.workflow):
            self.report(problem.code, problem.where, problem.message, problem.fix)
        if any(f.code in ("PA101",) for f in self.findings) or self.job is None:
            return self.findings
        deployment = self.is_deployment()
        service = self.is_service()
        if service:
            self.check_generic_information(deployment)
        self.check_variables(service)
        for task, script in self.job.scripts():
            self.check_script(task, script)
            self.check_url_variables(task, script)
        if service:
            if self.runs_trigger_scripts() and self.from_void():
                self.check_action_from_void()
            elif deployment:
                self.check_deployment()
            else:
                self.check_action()
        self.check_status_loop()
        self.check_required_variables(deployment)
        self.check_node_tokens()
        return self.findings

    def is_service(self) -> bool:
        """A PSA service's workflow: its package says ``Workflow/psa``, or it carries ``pca.*``
        generic information, or (a loose file, no package to say) it runs lifecycle scripts. The
        service rules (PSA201-PSA223) judge only those: a standard workflow is not a broken service."""
        if any(name.startswith("pca.") for name in self.job.gi):
            return True
        if self.kind is not None:
            return is_service_kind(self.kind)
        return any(self.name_of(script) in LIFECYCLE_SLOTS for _, script in self.job.scripts())

    def runs_trigger_scripts(self) -> bool:
        return bool(self.scripts_named("Pre_Trigger_Action") or self.scripts_named("Post_Trigger_Action"))

    def from_void(self) -> bool:
        return any(source == VOID for source, _ in self.states() or [])

    def variables_defined(self, task: Optional[Task] = None) -> Set[str]:
        """Every variable a script or URL of ``task`` may read: the platform's, the job's, the
        task's, those the workflow's scripts write (our contracts, inline ``variables.put``)."""
        defined = set(PROVIDED) | SCHEDULER_VARIABLES | {v.name for v in self.job.variables}
        if task is not None:
            defined |= {v.name for v in task.variables}
        for _, script in self.job.scripts():
            contract = self.known.contracts.get(self.name_of(script) or "") if self.ours(script) else None
            if contract is not None:
                defined |= set(contract.writes)  # type: ignore[attr-defined]
            if script.code:
                defined |= written_variables(script)
        return defined

    def check_generic_information(self, deployment: bool) -> None:
        anchor = self.job.element.find("genericInformation") or self.job.element
        if self.job.info(names.GI_SERVICE_ID) is None:
            self.report("PSA201", anchor, f"generic information {names.GI_SERVICE_ID} is missing: PSA does not see "
                        "this workflow as part of a service",
                        f'add <info name="{names.GI_SERVICE_ID}" value="My_Service"/> to the job\'s '
                        "<genericInformation>, with the same value in every workflow of the service")
        states = self.job.info(names.GI_STATES)
        if states is None:
            self.report("PSA202", anchor, f"generic information {names.GI_STATES} is missing: PSA cannot tell "
                        "which instance states this workflow moves between",
                        f'add <info name="{names.GI_STATES}" value="(VOID,RUNNING)"/> (a deployment) or '
                        'e.g. "(RUNNING,FINISHED)(ERROR,FINISHED)" (a termination)')
            return
        pairs = parse_states(states.value)
        if pairs is None:
            self.report("PSA202", states, f"{names.GI_STATES} value {states.value!r} does not parse",
                        "write one or more (FROM,TO) pairs with nothing between them, e.g. "
                        "(VOID,RUNNING) or (RUNNING,FINISHED)(ERROR,FINISHED); TO cannot be ALL")
            return
        for state in dict.fromkeys(state for pair in pairs for state in pair):
            meant = _misspelt(state)
            if meant is not None:
                self.report("PSA205", states, f"{names.GI_STATES}={states.value!r}: unknown state {state!r} (did you "
                            f"mean {meant}?); an instance never is in it, so PSA never offers this action from it "
                            "or never shows the instance reach it",
                            f"write {re.sub(rf'(?<=[(,]){state}(?=[,)])', meant, states.value)!r}")
        if deployment and self.scripts_named("Post_Start_Service") and not any(s == "VOID" for s, _ in pairs):
            self.report("PSA203", states, f"this workflow deploys the service but {names.GI_STATES}={states.value!r} "
                        "has no transition from VOID: PSA never offers it to start an instance",
                        "start the value with (VOID,RUNNING)")

    def check_variables(self, service: bool) -> None:
        for variable in list(self.job.variables) + [v for task in self.job.tasks for v in task.variables]:
            if variable.name == names.PROXYFIED_MISSPELT:
                self.report("PSA204", variable, f"variable {names.PROXYFIED_MISSPELT} is ignored: the scripts read "
                            f"{names.PROXYFIED}, so the proxy is silently off", f"rename it to {names.PROXYFIED} (with a Y)")
        instance_name = self.job.variable(names.INSTANCE_NAME) if service else None
        if instance_name is not None and instance_name.value:
            sample = re.sub(r"\$\{?PA_JOB_ID\}?", "42", instance_name.value)
            sample = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "x", sample)
            try:
                names.check_instance_name(sample)
            except InputError:
                self.report("PSA214", instance_name, f"default {names.INSTANCE_NAME} {instance_name.value!r} breaks the "
                            f"name rule {names.INSTANCE_NAME_PATTERN} (it names the container, files and node token)",
                            "use letters, digits, '_', '.', '-', e.g. my-service-$PA_JOB_ID")

    def check_script(self, task: Task, script: ScriptRef) -> None:
        ref = script.catalog
        if ref is None:
            return
        where = f"{script.slot} script of task {task.name}"
        target = script.source or script.element
        if ref.bucket == GROOVY_BUCKET:
            language = GROOVY_OBJECTS.get(ref.name)
            if language is None:
                self.report("PSA230", target, f"{where}: {ref.name} is not an object of the Groovy bucket "
                            f"{GROOVY_BUCKET}{did_you_mean(ref.name, GROOVY_OBJECTS)}",
                            "check the name's spelling and case; the bucket holds: " + ", ".join(sorted(GROOVY_OBJECTS)))
            elif script.language is not None and script.language.lower() != language:
                self.report("PSA231", target, f"{where}: {ref.name} of bucket {GROOVY_BUCKET} is a "
                            f"{'Groovy' if language == 'groovy' else 'bash'} script, run here as {script.language}",
                            f"use {DEFAULT_BUCKET} (the Python scripts) with language=\"cpython\", or "
                            f"language=\"{language}\"")
            self.check_slot(task, script, ref.name)
            return
        meant = self.bucket_of(ref)
        if meant != ref.bucket:
            self.report("PSA230", target, f"{where}: bucket {ref.bucket} is not one of ours (did you mean "
                        f"{meant}?): {ref.name} is fetched from a bucket that does not hold it",
                        f"write /buckets/{meant}/resources/{ref.name}/raw")
            return
        if ref.bucket not in self.known.buckets:
            return
        if ref.name not in self.known.objects:
            self.report("PSA230", target, f"{where}: {ref.name} is not an object of the bundle (bucket {ref.bucket})"
                        f"{did_you_mean(ref.name, self.known.objects)}",
                        "check the name's spelling and case; the scripts are: " + ", ".join(sorted(self.known.kinds)))
            return
        if ref.name in self.known.kinds and (script.language or "").lower() != "cpython":
            said = "has no language" if script.language is None else f"has language={script.language!r}"
            whose = (f"your script {ref.name} is Python: it runs" if ref.name in self.known.authors
                     else f"{ref.name} is one of our Python scripts: they run")
            self.report("PSA231", target, f"{where}: {ref.name} {said}; {whose} on the cpython engine",
                        'set language="cpython" on the <file> element')
        self.check_slot(task, script, ref.name)
        allowed = self.known.arguments.get(ref.name)
        if allowed is not None:
            given = script.arguments[0].strip() if script.arguments else ""
            if not given:
                self.report("PSA232", target, f"{where}: {ref.name} needs an argument (one of {', '.join(allowed)})",
                            f'add <arguments><argument value="{allowed[0]}"/></arguments> inside the <file> element')
            elif given not in allowed:
                self.report("PSA232", target, f"{where}: {ref.name} argument {given!r} is not one of {', '.join(allowed)}",
                            "use one of those values, in capitals")

    def check_slot(self, task: Task, script: ScriptRef, name: str) -> None:
        expected = LIFECYCLE_SLOTS.get(name)
        if expected is None:
            # Other scripts: pre, task and post scripts have the same bindings and may stand in any of
            # those slots; a selection, flow or clean script only in its own.
            expected = {"Script/pre": ("pre", "executable", "post"), "Script/task": ("executable", "pre", "post"),
                        "Script/post": ("post", "executable", "pre"), "Script/selection": ("selection",),
                        "Script/flow": ("flow",), "Script/clean": ("cleaning",)}.get(self.known.kinds.get(name, ""))
        if expected is not None and script.slot not in expected:
            self.report("PSA211", script.source or script.element,
                        f"{script.slot} script of task {task.name}: {name} runs as a {script.slot} script but is a "
                        f"{' or '.join(expected)} script: it fails at run time",
                        f"move it to the task's {expected[0]} slot")

    def check_url_variables(self, task: Task, script: ScriptRef) -> None:
        """PSA233: a ``${NAME}`` in a script URL that nothing defines stays in the URL as it is: the
        job is refused at submission (no protocol) or the script fails to download."""
        if not script.url or "${" not in script.url:
            return
        defined = None
        for match in _URL_VARIABLE.finditer(script.url):
            if match.start() == 0:
                continue  # a URL starting with an undefined ${X} has no protocol: PA110 (the schema's rule) says it
            name = match.group(1)
            defined = defined if defined is not None else self.variables_defined(task)
            if name in defined:
                continue
            self.report("PSA233", script.source or script.element,
                        f"{script.slot} script of task {task.name}: its URL uses ${{{name}}}, which is not a variable "
                        f"of this workflow nor one ProActive defines{did_you_mean(name, defined)}",
                        f"correct the name, or add <variable name=\"{name}\" value=\"...\"/> to the job's <variables>")

    def check_action_from_void(self) -> None:
        """PSA223: the trigger scripts act on an existing instance (they read and update it); a
        transition from VOID is offered only before the instance exists."""
        states = self.job.info(names.GI_STATES)
        trigger = (self.scripts_named("Pre_Trigger_Action") or self.scripts_named("Post_Trigger_Action"))[0][1]
        self.report("PSA223", states or self.job.element,
                    f"this action runs {self.name_of(trigger)} but {names.GI_STATES}="
                    f"{states.value if states is not None else ''!r} starts from VOID: PSA offers a VOID "
                    "transition only to create an instance, so this action can never act on one",
                    "start each (FROM,TO) pair from the states the action leaves, e.g. (RUNNING,FINISHED)(ERROR,FINISHED)")

    def check_deployment(self) -> None:
        posts = self.scripts_named("Post_Start_Service")
        starts = self.scripts_named("Start_Docker_Service")
        uses_lifecycle = posts or starts or self.scripts_named("Pre_Start_Service")
        if not uses_lifecycle:
            return
        deploy_tasks = [task for task, _ in posts] or [task for task, _ in starts]
        # The Groovy scripts of the service-automation bucket work without some of these (their
        # Post_Start_Service makes the proxy URL itself): for them a missing script is a warning.
        python = any(self.ours(script) for _, script in posts + starts + self.scripts_named("Pre_Start_Service"))
        severity = "error" if python else "warning"
        if not posts:
            task = deploy_tasks[0] if deploy_tasks else self.job.tasks[0]
            self.report("PSA210", task, f"task {task.name} deploys the service but no task has Post_Start_Service as "
                        "its post script: PSA never sees the instance RUNNING",
                        "add <post><script><file url=\"${PA_CATALOG_REST_URL}/buckets/" + DEFAULT_BUCKET
                        + "/resources/Post_Start_Service/raw\" language=\"cpython\"/></script></post> to it",
                        severity)
        for task in deploy_tasks:
            if task.cleaning is None or self.name_of(task.cleaning) != "Clean_Start_Service":
                self.report("PSA210", task, f"deployment task {task.name} has no Clean_Start_Service cleaning script: "
                            "a failed deployment never shows ERROR", "add Clean_Start_Service as its <cleaning> script",
                            severity)
        proxied = self.job.variable(names.PROXYFIED)
        # A script of the service's own that makes PROXYFIED_URL does Pre_Start_Service's work.
        own_proxy = any(writes_variable(script, names.PROXYFIED_URL) for _, script in self.job.scripts())
        if proxied is not None and _truthy(proxied.value) and not self.scripts_named("Pre_Start_Service") \
                and not own_proxy:
            task = deploy_tasks[0] if deploy_tasks else self.job.tasks[0]
            self.report("PSA210", task, f"{names.PROXYFIED} is true but no task runs Pre_Start_Service: the proxy URL "
                        "is never made", f"add Pre_Start_Service as the <pre> script of task {task.name}", severity)

    def check_action(self) -> None:
        pre = self.scripts_named("Pre_Trigger_Action")
        post = self.scripts_named("Post_Trigger_Action")
        clean = self.scripts_named("Clean_Trigger_Action")
        python = any(self.ours(script) for _, script in pre + post + clean)
        if python:
            # A multi-deployment service sets the status with Set_service_FINISHED_if_all_clean_OK and
            # removes its tokens with Update_service_and_remove_tokens instead.
            post = post or self.scripts_named("Set_service_FINISHED_if_all_clean_OK")
            clean = clean or self.scripts_named("Update_service_and_remove_tokens")
            for present, name, slot in ((pre, "Pre_Trigger_Action", "first task's executable"),
                                        (post, "Post_Trigger_Action", "action task's post script"),
                                        (clean, "Clean_Trigger_Action", "action task's cleaning script")):
                if not present:
                    self.report("PSA220", self.job.element, f"this action workflow runs no {name}",
                                f"add {name} as the {slot}")
        pairs = self.states() or []
        targets = {target for _, target in pairs}
        pre_target = {ACTION_TARGETS.get(s.arguments[0].strip()) for _, s in pre if s.arguments} - {None}
        post_target = {s.arguments[0].strip() for _, s in post if s.arguments}
        for (_, script), found in [(p, ACTION_TARGETS.get(p[1].arguments[0].strip()) if p[1].arguments else None)
                                   for p in pre] + [(p, p[1].arguments[0].strip() if p[1].arguments else None)
                                                    for p in post]:
            if found is None or found not in (names.FINISHED, names.PAUSED, names.RUNNING):
                continue
            if len(targets) == 1 and found not in targets and _misspelt(next(iter(targets))) is None:
                self.report("PSA221", script.source or script.element,
                            f"{self.name_of(script)} argument {script.arguments[0]!r} leads to {found}, but "
                            f"{names.GI_STATES} says this action ends in {next(iter(targets))}",
                            "make the argument and pca.states agree")
        if pre_target and post_target and not pre_target & post_target:
            script = post[0][1]
            self.report("PSA221", script.source or script.element,
                        f"Post_Trigger_Action argument {sorted(post_target)[0]!r} contradicts Pre_Trigger_Action's "
                        f"({sorted(pre_target)[0]} expected)", "make both arguments name the same action")
        service = self.job.gi.get(names.GI_SERVICE_ID)
        deployed = self.context.deployment_ids.get(self.path.parent, set())
        if service and len(deployed) == 1 and service not in deployed:
            info = self.job.info(names.GI_SERVICE_ID)
            self.report("PSA222", info, f"{names.GI_SERVICE_ID}={service!r} differs from the deployment workflow's "
                        f"{next(iter(deployed))!r} in the same directory", "use the same pca.service.id in every workflow "
                        "of the service")

    def check_status_loop(self) -> None:
        deploy_tasks = {task.name for task, _ in self.scripts_named("Post_Start_Service")}
        for task in self.job.tasks:
            executable = self.name_of(task.executable) if task.executable else None
            flow = task.flow
            loop = flow.loop if flow else None
            flow_name = self.name_of(loop.script) if loop and loop.script else None
            if executable == "Check_Instance_Status" and loop is None:
                self.report("PSA212", task, f"task {task.name} runs Check_Instance_Status but does not loop: the "
                            "status is checked once and never again",
                            f'add <controlFlow><loop target="{task.name}"><script><file url=".../Fetch_Logs/raw" '
                            'language="cpython"/></script></loop></controlFlow>')
            elif executable == "Check_Instance_Status" and self.ours(task.executable) and flow_name != "Fetch_Logs" \
                    and not reads_variable(loop.script, names.IS_FINISHED):  # a loop script of its own ending on it
                self.report("PSA212", loop, f"task {task.name} runs Check_Instance_Status but its loop control script "
                            "is not Fetch_Logs: the loop's cron and IS_FINISHED are not honoured",
                            "use Fetch_Logs (bucket " + DEFAULT_BUCKET + ") as the loop's script")
            if flow_name == "Fetch_Logs":
                if executable not in ("Check_Instance_Status", "Check_Instance_Status_Singularity",
                                      "Loop_over_service_instance_status") \
                        and self.ours(loop.script) and not writes_variable(task.executable, names.IS_FINISHED):
                    self.report("PSA212", loop, f"task {task.name} loops on Fetch_Logs but its executable is not "
                                "Check_Instance_Status: nothing checks the service", "run Check_Instance_Status as its executable")
                if loop.target in deploy_tasks:
                    self.report("PSA212", loop, f"the status loop of task {task.name} targets the deployment task "
                                f"{loop.target}: the service would be deployed again every minute",
                                f'set target="{task.name}" (the loop task itself)')

    def check_required_variables(self, deployment: bool) -> None:
        values = {v.name: v.value for v in self.job.variables}
        if not deployment:
            service = self.job.gi.get(names.GI_SERVICE_ID)
            if service not in self.context.service_variables:
                return  # the instance's variables come from a deployment we do not see
            values = {**self.context.service_variables[service], **values}
        written: Set[str] = set()
        for _, script in self.job.scripts():
            contract = self.known.contracts.get(self.name_of(script) or "") if self.ours(script) else None
            if contract is not None:
                written |= set(contract.writes)  # type: ignore[attr-defined]
            author = self.known.authors.get(self.name_of(script) or "") if self.ours(script) else None
            if author is not None and author.contract is not None:
                written |= set(author.contract.writes)
        for task in self.job.tasks:
            task_values = {**values, **{v.name: v.value for v in task.variables}}
            for script in task.scripts():
                if not self.ours(script):
                    continue
                author = self.known.authors.get(self.name_of(script) or "")
                if author is not None:
                    self.check_author_needs(task, script, author, task_values, written)
                    continue
                contract = self.known.contracts.get(self.name_of(script) or "")
                if contract is None:
                    continue
                for variable in contract.needed(task_values, script.arguments):  # type: ignore[attr-defined]
                    if variable in PROVIDED or variable in task_values or variable in written:
                        continue
                    self.report("PSA213", script.source or script.element,
                                f"{self.name_of(script)} in task {task.name} requires variable {variable}, "
                                "which this workflow never sets", f'add <variable name="{variable}" value="..."/> '
                                "to the job's <variables>")

    def check_author_needs(self, task: Task, script: ScriptRef, author: AuthorNeeds, values: Dict[str, str],
                           written: Set[str]) -> None:
        """PSA215: what the author's own script requires, by its CONTRACT or through the library
        scripts it calls (``psa_scripts.author_needs``), and the workflow never sets."""
        name = self.name_of(script)
        own = author.contract
        needs: Dict[str, str] = {}  # variable -> where the need comes from
        if own is not None:
            needs.update({variable: "its CONTRACT" for variable in own.needed(values, script.arguments)})
        handled = set(own.variable_names()) if own is not None else set()  # declared by the author: theirs to say
        for called in author.calls:
            contract = self.known.contracts.get(called)
            for variable in contract.needed(values, script.arguments) if contract is not None else ():  # type: ignore[attr-defined]
                if variable not in handled:
                    needs.setdefault(variable, f"{called}, which it calls")
        for variable, why in needs.items():
            if variable in PROVIDED or variable in values or variable in written:
                continue
            self.report("PSA215", script.source or script.element,
                        f"your script {name} in task {task.name} requires variable {variable} (through {why}), "
                        "which this workflow never sets",
                        f'add <variable name="{variable}" value="..."/> to the job\'s <variables>')

    def touches_node(self, task: Task) -> bool:
        for script in task.scripts():
            name = self.name_of(script)
            if name is None:
                if script.code and re.search(r"\b(docker|singularity)\b", script.code) and \
                        names.INSTANCE_NAME in script.code:
                    return True
                continue
            if script.catalog.bucket == GROOVY_BUCKET:  # type: ignore[union-attr]
                if name in GROOVY_ON_NODE:
                    return True
            else:
                contract = self.known.contracts.get(name)
                if contract is not None and contract.on_node:  # type: ignore[attr-defined]
                    return True
        return False

    def check_node_tokens(self) -> None:
        anchors = {task.name for task in self.job.tasks for script in task.scripts()
                   if self.name_of(script) in ANCHOR_SCRIPTS}
        depends = {task.name: set(task.depends) for task in self.job.tasks}
        deployment = self.is_deployment()
        job_token = self.job.info(names.GI_NODE_ACCESS_TOKEN)
        reported: Set[object] = set()  # a job-level token is judged once
        for task in self.job.tasks:
            if task.name in anchors or not self.touches_node(task):
                continue
            # In a deployment, only tasks after the one that places the service run where the token is.
            if deployment and not _ancestors(task.name, depends) & anchors:
                continue
            token = task.info(names.GI_NODE_ACCESS_TOKEN) or job_token
            if token is None:
                self.report("PSA224", task, f"task {task.name} acts on the service's node but has no "
                            f"{names.GI_NODE_ACCESS_TOKEN}: it may run on another node than the service's container",
                            f'add <genericInformation><info name="{names.GI_NODE_ACCESS_TOKEN}" '
                            f'value="{TOKEN_VALUES[0]}"/></genericInformation> to the task')
            elif (token.line, token.column) not in reported:
                reported.add((token.line, token.column))
                self.check_token_value(task, token)

    def check_token_value(self, task: Task, token: Info) -> None:
        """PSA225: the token of a task that acts on the service's node must be the one the lifecycle
        scripts add to it, PSA_<INSTANCE_NAME>; any other value sends the task to a node nobody
        holds (it waits forever). A value that is one reference to another variable (``$MY_TOKEN``)
        is another convention, not judged."""
        value = token.value.strip()
        if value in TOKEN_VALUES:
            return
        referenced = [braced or bare for braced, bare in _GI_VARIABLE.findall(value)]
        defined = self.variables_defined(task)
        undefined = [name for name in referenced if name not in defined]
        if undefined:
            why = f"${undefined[0]} is not a variable of this workflow{did_you_mean(undefined[0], defined)}"
        elif len(referenced) == 1 and _GI_VARIABLE.fullmatch(value) and referenced[0] != names.INSTANCE_NAME:
            return
        else:
            why = "it is not the token the lifecycle scripts add"
        self.report("PSA225", token, f"task {task.name}: {names.GI_NODE_ACCESS_TOKEN}={token.value!r}: {why} "
                    "(Post_Start_Service adds PSA_<INSTANCE_NAME>): the task waits for a node nobody holds",
                    f'set value="{TOKEN_VALUES[0]}"')


def _misspelt(state: str) -> Optional[str]:
    """The known state a ``pca.states`` state misspells (PSA205), or None: known, or the service's own."""
    return None if state in KNOWN_STATES else closest(state, KNOWN_STATES)


def _ancestors(name: str, depends: Dict[str, Set[str]]) -> Set[str]:
    seen: Set[str] = set()
    pending = list(depends.get(name, ()))
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            pending += list(depends.get(current, ()))
    return seen


# --- silencing ----------------------------------------------------------------------------------------
def _silenced(workflow: Workflow, finding: Finding) -> bool:
    """Whether a ``psa: ignore[...]`` comment or ``psa.validate.ignore`` GI covers ``finding``."""
    codes: Set[str] = set()
    lines = workflow.text.splitlines()
    scopes = [workflow.root] + [task for task in workflow.root.findall("taskFlow/task")
                                if task.line <= finding.line <= (task.end_line or task.line)]
    for scope in scopes:
        end = scope.end_line or len(lines)
        for text in lines[scope.line - 1:end]:
            for match in _IGNORE_COMMENT.finditer(text):
                codes |= {code.strip() for code in match.group(1).split(",")}
        for info in scope.findall("genericInformation/info"):
            if info.get("name") == IGNORE_INFO:
                codes |= {code.strip() for code in (info.get("value") or "").split(",")}
    return finding.code in codes or "all" in codes


# --- files and directories -------------------------------------------------------------------------
def _read(path: Path, explicit: bool) -> Tuple[Optional[Workflow], List[Finding]]:
    shown = str(path)
    try:
        workflow = parse_workflow(path)
    except WorkflowError as error:
        reading = error.reason.startswith("cannot read")
        return None, [Finding(shown, error.line, "error", error.reason,
                              "check the path and its permissions" if reading else
                              "fix the XML syntax at that line (an unclosed tag, a stray & or <)", "PA100", error.column)]
    if not workflow.is_job:
        if not explicit:
            return None, []
        return None, [Finding(shown, workflow.root.line, "warning",
                              f"not a ProActive workflow (root element <{workflow.root.tag}>, expected <job>): not checked",
                              "give the workflow's XML file", "PA101", workflow.root.column)]
    return workflow, []


def _context(workflows: Sequence[Tuple[Path, Workflow]]) -> _Context:
    context = _Context()
    for path, workflow in workflows:
        job = workflow.job
        if job is None:
            continue
        service = job.gi.get(names.GI_SERVICE_ID)
        pairs = parse_states(job.gi.get(names.GI_STATES, "")) or []
        if service and any(source == "VOID" for source, _ in pairs):
            context.service_variables.setdefault(service, {}).update({v.name: v.value for v in job.variables})
            context.deployment_ids.setdefault(path.parent, set()).add(service)
    return context


def validate_file(path: Path, known: Known, *, explicit: bool = True) -> List[Finding]:
    """The findings of one workflow file (a non-workflow XML found in a directory is skipped)."""
    return _validate([(path, explicit)], known)[0]


def _validate(entries: Sequence[Tuple[Path, bool]], known: Known) -> Tuple[List[Finding], int]:
    findings: List[Finding] = []
    parsed: List[Tuple[Path, Workflow]] = []
    for path, explicit in entries:
        workflow, problems = _read(path, explicit)
        findings += problems
        if workflow is not None:
            parsed.append((path, workflow))
    context = _context(parsed)
    kinds = PackageKinds()
    for path, workflow in parsed:
        checked = _Checker(path, workflow, known, context, kinds.kind(path)).run()
        findings += [finding for finding in checked if not _silenced(workflow, finding)]
    # A file that does not parse may be any workflow of its directory's service: judging that
    # service as a whole would report what the unread file holds (no knock-on after a PA100).
    unread = {Path(finding.file).parent for finding in findings if finding.code == "PA100"}
    findings += _state_machine_findings([(path, workflow) for path, workflow in parsed if path.parent not in unread])
    return findings, len(entries)


def _state_machine_findings(parsed: Sequence[Tuple[Path, Workflow]]) -> List[Finding]:
    """PSA240: the service's state machine as a whole (``workflow.graph.state_findings``): a state
    no action leaves, an action no state reaches, a service nothing starts from VOID. Judged only
    where two or more workflows of one service are validated together (none beside a file that does
    not parse), and as warnings: the files given may not be the whole service."""
    from .workflow.graph import Service, state_findings

    services: Dict[str, Service] = {}
    by_source: Dict[str, Workflow] = {}
    for path, workflow in parsed:
        job = workflow.job
        if job is None or job.info(names.GI_STATES) is None or parse_states(job.gi[names.GI_STATES]) is None:
            continue
        service_id = job.gi.get(names.GI_SERVICE_ID) or job.name
        services.setdefault(service_id, Service(service_id)).workflows.append(workflow)
        by_source[workflow.source] = workflow
    found: List[Finding] = []
    for service in services.values():
        if len(service.workflows) < 2:
            continue
        for item in state_findings(service):
            finding = Finding(item.file, item.line, "warning", item.message, item.fix, "PSA240", item.column)
            workflow = by_source.get(item.file)
            if workflow is None or not _silenced(workflow, finding):
                found.append(finding)
    return found


def validate_paths(paths: Iterable[Path], known: Known) -> Tuple[List[Finding], int]:
    """The findings of every file given and every ``*.xml`` under the directories given,
    and how many workflow files were looked at."""
    entries: List[Tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            entries += [(child, False) for child in sorted(path.rglob("*.xml"))]
        else:
            entries.append((path, True))
    return _validate(entries, known)


def errors_in_bundles(bundles_dir: Path, buckets: Sequence[str] = (), search_path: Sequence[Path] = ()
                      ) -> List[Finding]:
    """The errors ``psa validate`` finds in the workflows of ``bundles_dir``: what ``psa bundle``
    refuses to package."""
    findings, _ = validate_paths([bundles_dir], default_known(bundles_dir, buckets, search_path))
    return [finding for finding in findings if finding.severity == "error"]


def errors_in_packages(packages: Sequence[object]) -> List[Finding]:
    """The errors ``psa validate`` finds in the workflows of built packages (``bundler.Package``):
    what ``psa publish`` refuses to send. The workflows are checked as the package lays them out,
    its METADATA.json beside them (each object's kind decides which are services); a finding names
    the entry as ``<slug>.zip!<folder>/<file>``."""
    from .bundler import METADATA_FILE, package_bytes

    known = default_known(None)
    for package in packages:
        known.buckets.add(package.bucket)  # type: ignore[attr-defined]
        for obj in package.objects:  # type: ignore[attr-defined]
            known.objects.add(obj.name)
            if obj.kind.startswith("Script/") and obj.name not in known.kinds:
                known.kinds[obj.name] = obj.kind
    with tempfile.TemporaryDirectory(prefix="psa-publish-") as temporary:
        root = Path(temporary)
        paths: List[Path] = []
        for package in packages:
            for entry, content in package_bytes(package).items():  # type: ignore[arg-type]
                if entry.endswith((".xml", "/" + METADATA_FILE)):
                    path = root / package.slug / entry  # type: ignore[attr-defined]
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(content)
            paths.append(root / package.slug)  # type: ignore[attr-defined]
        findings, _ = validate_paths(paths, known)
        shown = []
        for finding in findings:
            if finding.severity != "error":
                continue
            slug, _, entry = Path(finding.file).relative_to(root).as_posix().partition("/")
            shown.append(replace(finding, file=f"{slug}.zip!{entry}"))
    return shown


def select(findings: Iterable[Finding], chosen: Sequence[str] = (), ignored: Sequence[str] = ()) -> List[Finding]:
    """Findings whose code starts with one of ``chosen`` (all when empty) and none of ``ignored``."""
    return [f for f in findings
            if (not chosen or f.code.startswith(tuple(chosen))) and not f.code.startswith(tuple(ignored) or ("\0",))]


def explain(code: str) -> str:
    """The paragraph of rule ``code``; KeyError when there is no such rule."""
    title, text = RULES[code.upper()]
    return f"{code.upper()}: {title}\n\n{text}\n"


def rule_list() -> str:
    """Every rule, one line each, in code order: ``CODE  title``."""
    return "".join(f"{code}  {title}\n" for code, (title, _) in sorted(RULES.items()))


def to_json(findings: Sequence[Finding], checked: int) -> str:
    return json.dumps({"checked": checked, "findings": [f.as_dict() for f in findings]}, indent=2)
