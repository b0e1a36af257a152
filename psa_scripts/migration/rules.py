"""Migrating one workflow from the Groovy bucket onto the Python scripts: the rules.

Two passes over the one workflow model (``psa_scripts.workflow.model``), each editing the text at
the positions the model reports (``edits``):

1. **References.** Every script URL into the Groovy bucket ``service-automation`` names its
   counterpart (``counterparts.COUNTERPARTS``) in the target bucket, with ``language="cpython"``
   (set, or added after the URL); true/false flag arguments are converted where Groovy and
   Python read them differently (``counterparts.groovy_flag``). A name the Groovy bucket does not
   hold is left for the user.
2. **What the Python scripts require** and the Groovy ones tolerated, read on the result of
   pass 1 (so a second run finds nothing to do):
   - a deployment (``(VOID,...)`` in pca.states, or Post_Start_Service): each task with
     Post_Start_Service gets Clean_Start_Service as its cleaning script when it has none; with
     ``PROXYFIED`` true, no Pre_Start_Service and no script of its own writing PROXYFIED_URL,
     the one deployment task gets Pre_Start_Service as its pre script. A container its own
     script starts without the instance's labels is left for the user when the service's
     actions may run the Docker action scripts (``Siblings``), which act only on labelled ones;
   - an action (trigger scripts): Pre_Trigger_Action in the first task's pre slot, or in a task
     of its own before it when that slot is taken; Post_Trigger_Action on the one task running a
     Finish/Pause/Resume script; Clean_Trigger_Action as the cleaning script of the task running
     Post_Trigger_Action (of each, when they are the branches of an ``if``). The arguments come
     from the other trigger script and pca.states when they agree. A multi-deployment service's
     own scripts stand for the post and cleaning ones.
   Where the slot is taken, or the task cannot be told, the finding is left for the user with
   what to do; so is a status loop that cannot work (Fetch_Logs looping on an executable that
   does not set IS_FINISHED, Check_Instance_Status that does not loop on Fetch_Logs or on a loop
   script of its own reading IS_FINISHED).

Every insertion is checked on the re-read result: the script is where it was meant to be.
Positions in the notes are those of the file given (pass 1 adds no line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Set, Tuple

from .. import names
from ..errors import InputError
from ..workflow.model import SLOT_ELEMENTS, Job, ScriptRef, Task, Workflow, catalog_url, parse_workflow_bytes
from ..validate import ACTION_TARGETS, DEFAULT_BUCKET
from ..workflow.inline import reads_variable, writes_variable
from ..workflow.jobdescriptor import child_order
from ..workflow.states import parse_states
from .counterparts import COUNTERPARTS, FLAG_ARGUMENTS, GROOVY_BUCKET, groovy_flag
from .edits import (Edit, add_attribute_after, apply, depends_block, encoded, insert_before, insert_child, prefix_of,
                    script_block, set_value, step_of, task_block)

CPYTHON = "cpython"
# Pre_Trigger_Action's argument -> Post_Trigger_Action's (the status the action ends in).
ACTION_STATUS = ACTION_TARGETS
ACTION_SCRIPTS = ("Finish_Docker_Service", "Pause_Docker_Service", "Resume_Docker_Service",
                  "Finish_Singularity_Service", "Pause_Singularity_Service", "Resume_Singularity_Service")
# Multi-deployment services set the status and remove the tokens with these instead.
MULTI_DEPLOYMENT_STATUS = "Set_service_FINISHED_if_all_clean_OK"
MULTI_DEPLOYMENT_CLEAN = "Update_service_and_remove_tokens"
LAUNCHED = {status: launched for launched, status in ACTION_STATUS.items()}
DOCKER_ACTIONS = ("Finish_Action", "Pause_Action", "Resume_Action", "Finish_Docker_Service", "Pause_Docker_Service",
                  "Resume_Docker_Service")
STATUS_LOOP_EXECUTABLES = ("Check_Instance_Status", "Check_Instance_Status_Singularity",
                           "Loop_over_service_instance_status")
_DOCKER_RUN = re.compile(r"\bdocker\s+(?:container\s+)?(?:run|create)\b")


@dataclass(frozen=True)
class Note:
    """One thing migrate did (a change) or could not do (left for the user: ``fix`` says what)."""

    line: int
    column: int
    message: str
    fix: str = ""


@dataclass
class Migration:
    """The outcome for one workflow: its bytes before and after, what changed, what is left."""

    source: str
    original: bytes
    migrated: bytes
    changes: List[Note] = field(default_factory=list)
    left: List[Note] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.migrated != self.original


@dataclass
class Siblings:
    """What the other workflows migrated together tell of each service (by pca.service.id): whose
    actions were seen, and which of them run the Docker action scripts (Groovy or ours)."""

    with_actions: Set[str] = field(default_factory=set)
    with_docker_actions: Set[str] = field(default_factory=set)

    def add(self, workflow: Workflow) -> None:
        job = workflow.job
        if job is None:
            return
        service = job.gi.get(names.GI_SERVICE_ID, "").strip()
        pairs = parse_states(job.gi.get(names.GI_STATES, "")) or []
        if not service or not pairs or any(source == "VOID" for source, _ in pairs):
            return
        self.with_actions.add(service)
        if any(s.catalog is not None and s.catalog.name in DOCKER_ACTIONS for _, s in job.scripts()):
            self.with_docker_actions.add(service)

    def docker_actions(self, service: str) -> bool:
        """Whether the service's actions may run the Docker action scripts (yes when none was seen)."""
        return service not in self.with_actions or service in self.with_docker_actions


def _where(task: Task, script: ScriptRef) -> str:
    return f"task {task.name}, {script.slot} script"


class _Pass:
    """Notes and edits gathered over one read of the workflow."""

    def __init__(self, workflow: Workflow, bucket: str) -> None:
        self.workflow, self.bucket = workflow, bucket
        self.text = workflow.text
        self.job: Job = workflow.job  # type: ignore[assignment]
        self.edits: List[Edit] = []
        self.changes: List[Note] = []
        self.left: List[Note] = []

    def change(self, where, message: str) -> None:
        self.changes.append(Note(where.line, where.column, message))

    def leave(self, where, message: str, fix: str) -> None:
        self.left.append(Note(where.line, where.column, message, fix))

    def edited(self) -> str:
        return apply(self.text, self.edits)


# --- pass 1: the references ----------------------------------------------------------------------------
def _references(workflow: Workflow, bucket: str) -> _Pass:
    found = _Pass(workflow, bucket)
    for task, script in found.job.scripts():
        ref = script.catalog
        if ref is None or ref.bucket != GROOVY_BUCKET or script.source is None or script.source.tag != "file":
            continue
        where = _where(task, script)
        target = COUNTERPARTS.get(ref.name)
        if target is None:
            found.leave(script.source, f"{where}: {ref.name} is not an object of the Groovy bucket {GROOVY_BUCKET}, "
                        "so it has no counterpart", f"check the name; point it at a script of {bucket} (the table of "
                        "docs/groovy-bucket.md lists them) or at your own bucket")
            continue
        url = script.source.attribute("url")
        raw = found.text[url.value_offset:url.value_end]  # type: ignore[union-attr]
        old = f"/buckets/{ref.bucket}/resources/{ref.name}/raw"
        at = raw.rfind(old)
        if at < 0:
            found.leave(url, f"{where}: the URL of {ref.name} is written with character references: it cannot be "
                        "rewritten in place", f"write it as ${{PA_CATALOG_REST_URL}}{old} and migrate again")
            continue
        found.edits.append(set_value(url, raw[:at] + f"/buckets/{bucket}/resources/{target}/raw"  # type: ignore[arg-type]
                                     + raw[at + len(old):]))
        language = script.source.attribute("language")
        if language is None:
            found.edits.append(add_attribute_after(url, "language", CPYTHON, found.text))  # type: ignore[arg-type]
        elif language.value != CPYTHON:
            found.edits.append(set_value(language, CPYTHON))
        said = script.language or "no language"
        found.change(script.source, f"{where}: {GROOVY_BUCKET}/{ref.name} ({said}) -> {bucket}/{target} ({CPYTHON})")
        _flags(found, task, script, target)
    return found


def _flags(found: _Pass, task: Task, script: ScriptRef, target: str) -> None:
    for index in FLAG_ARGUMENTS.get(target, ()):
        if index >= len(script.argument_elements):
            continue
        element = script.argument_elements[index]
        value = element.attribute("value")
        if value is None:
            continue
        what = f"{_where(task, script)}: {target} argument {index + 1}"
        if "$" in value.value:
            found.leave(value, f"{what} ({value.value!r}) is a variable: Groovy read anything but 'true' as false, "
                        "Python reads true/yes/on/1 and false/no/off/0 and refuses the rest",
                        "make sure the variable holds true or false")
            continue
        converted = groovy_flag(value.value)
        if converted != value.value:
            found.edits.append(set_value(value, converted))
            found.change(value, f"{what}: {value.value!r} -> {converted!r} (Groovy read it as {converted})")


# --- pass 2: what the Python scripts require -------------------------------------------------------------
@dataclass(frozen=True)
class _Addition:
    task: str
    slot: str
    name: str
    arguments: Tuple[str, ...] = ()


class _Requirements(_Pass):
    def __init__(self, workflow: Workflow, bucket: str, siblings: Siblings) -> None:
        super().__init__(workflow, bucket)
        self.siblings = siblings
        self.additions: List[_Addition] = []

    def name_of(self, script: Optional[ScriptRef]) -> Optional[str]:
        ref = script.catalog if script is not None else None
        return ref.name if ref is not None and ref.bucket == self.bucket else None

    def named(self, name: str) -> List[Tuple[Task, ScriptRef]]:
        return [(task, script) for task, script in self.job.scripts() if self.name_of(script) == name]

    def base_url(self) -> str:
        """The catalog base the workflow's references use (``${PA_CATALOG_REST_URL}`` by default)."""
        for _, script in self.job.scripts():
            if script.catalog is not None and script.url and "/buckets/" in script.url:
                return script.url[: script.url.index("/buckets/")]
        return "${PA_CATALOG_REST_URL}"

    def add(self, task: Task, slot: str, name: str, arguments: Sequence[str] = ()) -> None:
        url = catalog_url(self.bucket, name, self.base_url())
        block = script_block(prefix_of(self.text, task.element), SLOT_ELEMENTS[slot], url, arguments)
        self.edits.append(insert_child(self.text, task.element, block, child_order("task")))
        self.additions.append(_Addition(task.name, slot, name, tuple(arguments)))
        said = f" (argument {arguments[0]})" if arguments else ""
        self.change(task, f"task {task.name}: {name}{said} added as its {slot} script ({self.bucket})")

    def add_or_leave(self, task: Task, slot: str, name: str, why: str, arguments: Sequence[str] = ()) -> None:
        present = getattr(task, slot)
        if present is None:
            self.add(task, slot, name, arguments)
            return
        theirs = self.name_of(present) or (present.catalog.name if present.catalog else f"inline {present.language}")
        self.leave(present.source or present.element, f"task {task.name} needs {name} as its {slot} script ({why}), "
                   f"but the slot holds {theirs}", f"call {name} from your own {slot} script, or move yours to another "
                   f"task and put {name} in this slot")

    def deployment(self) -> bool:
        pairs = parse_states(self.job.gi.get(names.GI_STATES, "")) or []
        return any(source == "VOID" for source, _ in pairs) or bool(self.named("Post_Start_Service"))

    def check_deployment(self) -> None:
        posts, pres = self.named("Post_Start_Service"), self.named("Pre_Start_Service")
        if not posts:
            if pres and not self.named("Add_deployments_and_update_service"):
                task = pres[0][0]
                self.leave(task, "this deployment runs no Post_Start_Service: which task starts the service cannot "
                           "be told", "add Post_Start_Service as the post script of the task that starts it")
            return
        tasks = list(dict.fromkeys(task.name for task, _ in posts))
        for name in tasks:
            task = self.job.task(name)
            if self.name_of(task.cleaning) != "Clean_Start_Service":  # type: ignore[union-attr]
                self.add_or_leave(task, "cleaning", "Clean_Start_Service",  # type: ignore[arg-type]
                                  "a failed deployment must show ERROR")
        proxied = self.job.variable(names.PROXYFIED)
        own_proxy = any(writes_variable(script, names.PROXYFIED_URL) for _, script in self.job.scripts())
        if proxied is not None and proxied.value.strip().lower() in ("true", "yes", "on", "1") and not pres \
                and not own_proxy:
            if len(tasks) == 1:
                self.add_or_leave(self.job.task(tasks[0]), "pre", "Pre_Start_Service",  # type: ignore[arg-type]
                                  f"{names.PROXYFIED} is true: it makes the proxy URL")
            else:
                self.leave(proxied, f"{names.PROXYFIED} is true but no task runs Pre_Start_Service, and {len(tasks)} "
                           "tasks deploy", "add Pre_Start_Service as the pre script of the task whose endpoint is proxied")

    def check_own_containers(self) -> None:
        """A container the service's own script starts must carry the instance's labels: the Python
        Finish/Pause/Resume_Docker_Service act only on a container labelled as the instance's
        (the Groovy bash actions acted on any container of the name)."""
        service = self.job.gi.get(names.GI_SERVICE_ID, "").strip()
        if not self.siblings.docker_actions(service):
            return
        wanted = f'--label {names.LABEL_INSTANCE_ID}="$variables_{names.PCA_INSTANCE_ID}"' + (
            f" --label {names.LABEL_SERVICE_ID}={service}" if service else "")
        for task, script in self.job.scripts():
            code = script.code or ""
            if _DOCKER_RUN.search(code) and names.LABEL_INSTANCE_ID not in code:
                self.leave(script.source or script.element, f"{_where(task, script)} starts its container without "
                           "the instance's labels: Finish/Pause/Resume_Docker_Service (what Finish/Pause/Resume_Action "
                           "become) act only on a container labelled as the instance's, and would leave this one as "
                           "it is (the instance goes ERROR)", f"add {wanted} to its docker run")

    def check_action(self) -> None:
        pres, posts, cleans = (self.named(n) for n in ("Pre_Trigger_Action", "Post_Trigger_Action",
                                                       "Clean_Trigger_Action"))
        if not (pres or posts or cleans):
            return
        status = self.action_status(pres, posts)
        if not pres:
            self.add_pre_trigger(status)
        if not posts and not self.named(MULTI_DEPLOYMENT_STATUS):
            actors = [task for task in self.job.tasks if self.name_of(task.executable) in ACTION_SCRIPTS]
            if len(actors) != 1 or status is None:
                why = ("no task or several run a Finish/Pause/Resume script" if len(actors) != 1
                       else "the status it must set cannot be told from the trigger arguments and pca.states")
                self.leave(self.job.element, f"this action runs no Post_Trigger_Action, and {why}",
                           "add Post_Trigger_Action (argument FINISHED, PAUSED or RUNNING) as the post script of the "
                           "task that acts on the container")
                return
            if actors[0].post is not None:
                self.add_or_leave(actors[0], "post", "Post_Trigger_Action", "it sets the instance's status")
                return
            self.add(actors[0], "post", "Post_Trigger_Action", (status,))
            posts = [(actors[0], actors[0].executable)]  # type: ignore[list-item]
        if not cleans and not self.named(MULTI_DEPLOYMENT_CLEAN):
            tasks = [self.job.task(name) for name in dict.fromkeys(task.name for task, _ in posts)]
            branches = {name for task in self.job.tasks if task.flow and task.flow.if_
                        for name in (task.flow.if_.target, task.flow.if_.else_)}
            if len(tasks) == 1 or (tasks and all(task.name in branches for task in tasks)):  # type: ignore[union-attr]
                for task in tasks:  # one, or the branches of an if: one of them runs
                    self.add_or_leave(task, "cleaning", "Clean_Trigger_Action",  # type: ignore[arg-type]
                                      "it removes the credentials and the node token after the last action")
            elif tasks:
                self.leave(self.job.element, f"this action runs no Clean_Trigger_Action, and {len(tasks)} tasks run "
                           "Post_Trigger_Action one after the other", "add Clean_Trigger_Action as the cleaning "
                           "script of the last one")

    def add_pre_trigger(self, status: Optional[str]) -> None:
        """Pre_Trigger_Action before everything: the pre script of the one first task when free,
        else a task of its own before it."""
        firsts = [task for task in self.job.tasks if not task.depends]
        launched = LAUNCHED.get(status or "")
        if len(firsts) != 1 or launched is None:
            why = ("the action's first task cannot be told" if len(firsts) != 1
                   else "its argument cannot be told from Post_Trigger_Action and pca.states")
            self.leave(self.job.element, f"this action runs no Pre_Trigger_Action, and {why}: the other scripts find "
                       "no instance name", "add Pre_Trigger_Action (argument FINISH_LAUNCHED, PAUSE_LAUNCHED or "
                       "RESUME_LAUNCHED) as the executable of a first task; if a script of yours does its work, "
                       "silence PSA220 there")
            return
        first = firsts[0]
        if first.pre is None:
            self.add(first, "pre", "Pre_Trigger_Action", (launched,))
            return
        name = "Pre_Trigger_Action"
        if self.job.task(name) is not None:
            self.leave(first, f"this action runs no Pre_Trigger_Action; task {first.name}'s pre slot is taken and a "
                       f"task named {name} exists", f"add Pre_Trigger_Action (argument {launched}) as the executable "
                       "of a new first task")
            return
        prefix = prefix_of(self.text, first.element)
        step = step_of(self.text, first.element)
        executable = script_block(prefix, "scriptExecutable", catalog_url(self.bucket, name, self.base_url()),
                                  (launched,))
        self.edits.append(insert_before(self.text, first.element, task_block(prefix, name, executable), step))
        self.edits.append(insert_child(self.text, first.element, depends_block(prefix, name), child_order("task")))
        self.additions.append(_Addition(name, "executable", name, (launched,)))
        self.change(first, f"task {name} (Pre_Trigger_Action, argument {launched}, {self.bucket}) added before task "
                    f"{first.name}, whose pre slot holds a script of yours; {first.name} depends on it")

    def action_status(self, pres: List[Tuple[Task, ScriptRef]], posts: List[Tuple[Task, ScriptRef]]) -> Optional[str]:
        """FINISHED/PAUSED/RUNNING, when the trigger arguments and pca.states agree on one."""
        said = {ACTION_STATUS.get(s.arguments[0].strip()) for _, s in pres if s.arguments}
        said |= {s.arguments[0].strip() for _, s in posts if s.arguments}
        pairs = parse_states(self.job.gi.get(names.GI_STATES, "")) or []
        targets = {target for _, target in pairs}
        if len(targets) == 1:
            said |= targets
        if len(said) == 1 and not said - set(LAUNCHED) and (not targets or said <= targets):
            return said.pop()
        return None

    def check_status_loop(self) -> None:
        for task in self.job.tasks:
            executable = self.name_of(task.executable)
            loop = task.flow.loop if task.flow else None
            looped = self.name_of(loop.script) if loop is not None else None
            if executable == "Check_Instance_Status" and looped != "Fetch_Logs" \
                    and not (loop is not None and reads_variable(loop.script, names.IS_FINISHED)):
                self.leave(loop or task, f"task {task.name} runs Check_Instance_Status but does not loop on Fetch_Logs: "
                           "the status is not checked every minute, or the loop never ends",
                           f'add <controlFlow><loop target="{task.name}"> with Fetch_Logs ({self.bucket}) as its script')
            elif looped == "Fetch_Logs" and executable not in STATUS_LOOP_EXECUTABLES \
                    and not writes_variable(task.executable, names.IS_FINISHED):
                self.leave(loop, f"task {task.name} loops on Fetch_Logs but its executable is not Check_Instance_Status "
                           "(the Python Fetch_Logs ends the loop on the IS_FINISHED it sets): the loop never ends",
                           f"run Check_Instance_Status as the executable of task {task.name} and move what it does "
                           "now to a task before it")


def _requirements(workflow: Workflow, bucket: str, siblings: Siblings) -> _Requirements:
    found = _Requirements(workflow, bucket, siblings)
    if found.deployment():
        found.check_deployment()
        found.check_own_containers()
    else:
        found.check_action()
    found.check_status_loop()
    return found


def _check_additions(workflow: Workflow, additions: Sequence[_Addition], bucket: str) -> None:
    for addition in additions:
        task = workflow.job.task(addition.task)  # type: ignore[union-attr]
        script = getattr(task, addition.slot) if task is not None else None
        ref = script.catalog if script is not None else None
        if ref is None or (ref.bucket, ref.name) != (bucket, addition.name) or script.arguments != addition.arguments:
            raise InputError(f"{workflow.source}: adding {addition.name} to task {addition.task} did not give the "
                             "expected workflow (nothing written): please report it with the file")


# --- one workflow ---------------------------------------------------------------------------------------
def migrate_workflow(data: bytes, source: str, bucket: str = DEFAULT_BUCKET,
                     siblings: Optional[Siblings] = None) -> Migration:
    """``data`` (a workflow file) migrated onto ``bucket``; ``siblings``: what the workflows
    migrated with it say of their services. WorkflowError when it does not parse, InputError when
    it is not a job or cannot be rewritten byte for byte."""
    workflow = parse_workflow_bytes(data, source)
    if workflow.job is None:
        raise InputError(f"{source}: not a ProActive workflow (root element <{workflow.root.tag}>, expected <job>)")
    references = _references(workflow, bucket)
    renamed = workflow
    if references.edits:
        renamed = parse_workflow_bytes(encoded(data, workflow.text, references.edited(), source), source)
    required = _requirements(renamed, bucket, siblings or Siblings())
    migrated = data
    if references.edits or required.edits:
        migrated = encoded(data, workflow.text, required.edited(), source)
    if required.edits:
        _check_additions(parse_workflow_bytes(migrated, source), required.additions, bucket)
    # Line numbers of pass 2 are those of the renamed text: the same lines (pass 1 adds no line).
    return Migration(source, data, migrated, references.changes + required.changes,
                     references.left + required.left)
