"""What ProActive's job factory refuses at parse or submission, checked on the workflow model.

The schema's content model (``jobdescriptor.py``: order, cardinality, attributes, value types,
where text may stand) is checked in one walk of the tree; then what the job factory checks
beyond it (task dependencies, control flow, script URLs, variable models — ``StaxJobFactory``,
``FlowChecker`` and the model validators). ProActive's schema files are not shipped: the rules
are restated, one place to correct if ProActive changes them.

Each check yields ``Problem(code, element_or_attribute, message, fix)``; ``psa validate``
turns them into findings. Values holding a variable reference (``${X}``) are accepted where
the schema accepts ``variableRefType``: the scheduler substitutes them before it checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from ..suggest import closest, did_you_mean
from . import variable_models
from .jobdescriptor import DEFINITIONS, JOB_NAME, ROOT, XSI_SCHEMA_LOCATION, Definition, ValueType
from .model import CATALOG_URL_VARIABLE, NAMESPACE_PREFIX, Workflow, XmlAttribute, XmlElement

# Known jobdescriptor versions (ProActive ships a schema for each).
VERSIONS = tuple(f"3.{minor}" for minor in range(15)) + ("dev",)
_NAMED_LABEL_TAGS = ("job", "task", "variable", "info")


@dataclass(frozen=True)
class Problem:
    code: str
    where: Union[XmlElement, XmlAttribute]
    message: str
    fix: str


# --- the content model (jobdescriptor.py) checked on the tree ------------------------------------------------
def _describe(element: XmlElement, definition: Definition) -> str:
    name = element.get("name") if element.tag in _NAMED_LABEL_TAGS else None
    if definition.label and name:
        return f"{definition.label} {name}"
    return f"<{element.tag}>"


def _suggestion(tag: str, known: Sequence[str]) -> str:
    close = closest(tag, known, cutoff=0.6)  # element names are short: a looser match than for scripts
    return f" (did you mean <{close}>?)" if close else ""


def _content_problems(element: XmlElement, name: str) -> Iterator[Problem]:
    """What ``element``, read as the definition ``name``, breaks of the content model; then its children's."""
    definition = DEFINITIONS[name]
    yield from _attribute_problems(element, definition)
    if not definition.text and element.text.strip():
        yield Problem("PA114", element, f"text {_excerpt(element.text)} inside <{element.tag}>, where the schema "
                      "allows no text", "remove the text (only <description>, <code> and <metadata> entries hold text)")
    if definition.any_children is not None:
        for child in element.children:
            yield from _content_problems(child, definition.any_children)
        return
    if not definition.content:
        for child in element.children:
            yield Problem("PA103", child, f"unknown element <{child.tag}> here: the schema allows no element "
                          f"inside <{element.tag}>", "remove it or move it where the schema defines it")
        return
    yield from _sequence_problems(element, name)


# For each definition: child tag -> (its slot, the definition it is read as); built once.
_SLOT_OF: Dict[str, Dict[str, Tuple[int, str]]] = {
    name: {tag: (index, target) for index, slot in enumerate(definition.content) for tag, target in slot.choices}
    for name, definition in DEFINITIONS.items()}


def _sequence_problems(element: XmlElement, name: str) -> Iterator[Problem]:
    """The children of ``element`` against its sequence of slots, in one pass: each child is
    placed in the first slot naming its tag; a slot behind the last one filled is out of order,
    a slot filled past its maximum is repeated; required slots no child fills are missing."""
    definition = DEFINITIONS[name]
    slots = definition.content
    placed: List[int] = []  # the slot of each child accepted so far, in document order
    filled: Dict[int, int] = {}  # slot -> children placed in it
    highest = -1  # the last slot filled
    previous: Optional[str] = None
    for child in element.children:
        found, target = _SLOT_OF[name].get(child.tag, (None, ""))
        if found is None:
            known = [tag for slot in slots for tag in slot.tags]
            yield Problem("PA103", child, f"unknown element <{child.tag}> here: the schema does not allow it in "
                          f"<{element.tag}>{_suggestion(child.tag, known)}",
                          f"remove it or move it where the schema defines it (<{element.tag}> holds: "
                          + ", ".join(known) + ")")
            previous = child.tag
            continue
        slot = slots[found]
        later = next((index for index in placed if index > found), None) if found < highest else None
        if later is None and slot.maximum is not None and filled.get(found, 0) >= slot.maximum:
            what = f"<{child.tag}>" if len(slot.tags) == 1 else "one of <" + "|".join(slot.tags) + ">"
            yield Problem("PA102", child, f"<{child.tag}> appears twice in <{element.tag}>: the schema allows "
                          f"{what} {_times(slot.maximum)} there", f"keep one <{child.tag}> (merge their contents)")
        elif slot.after is not None and previous != slot.after:
            yield Problem("PA102", child, f"<{child.tag}> is not allowed here in <{element.tag}>: the schema "
                          f"allows it only right after <{slot.after}>", f"move it right after <{slot.after}>")
        elif later is not None:
            yield Problem("PA102", child, f"<{child.tag}> is out of the schema's order in <{element.tag}>: "
                          f"it must come before <{'|'.join(slots[later].tags)}>",
                          "order the children as: " + ", ".join("|".join(s.tags) for s in slots))
        else:
            placed.append(found)
            filled[found] = filled.get(found, 0) + 1
            highest = max(highest, found)
        previous = child.tag
        yield from _content_problems(child, target)
    present = {child.tag for child in element.children}
    for slot in slots:
        if slot.minimum and not present.intersection(slot.tags):
            needed = "|".join(slot.tags)
            yield Problem("PA113", element, f"{_describe(element, definition)} has no <{needed}>: the schema "
                          "requires " + ("one" if slot.maximum == 1 else "at least one"),
                          f"add <{needed}>" + ("" if element.children or slot.maximum == 1
                                               else f", or remove the empty <{element.tag}>"))


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= 30 else text[:27] + "...")


def _attribute_problems(element: XmlElement, definition: Definition) -> Iterator[Problem]:
    allowed = definition.attributes
    for attribute in element.attributes:
        if (attribute.namespace, attribute.name) == XSI_SCHEMA_LOCATION and element.tag == ROOT[0]:
            continue
        rule = None if attribute.namespace else allowed.get(attribute.name)
        if rule is None:
            close = closest(attribute.name, allowed, cutoff=0.6)
            yield Problem("PA104", attribute, f"unknown attribute {attribute.name!r} on <{element.tag}>"
                          + (f" (did you mean {close!r}?)" if close else ""),
                          "remove it (check its spelling and case)" + (
                              f"; <{element.tag}> takes: " + ", ".join(allowed) if allowed
                              else f"; <{element.tag}> takes no attribute"))
        elif rule.type is not None and not rule.type.accepts(attribute.value):
            yield _bad_value(element, definition, attribute, rule.type)
    for name, rule in allowed.items():
        if rule.required and element.attribute(name) is None:
            yield Problem("PA113", element, f"{_describe(element, definition)} has no {name} attribute",
                          f'add {name}="..." to <{element.tag}>')
    if definition.one_attribute_of:
        present = [name for name in definition.one_attribute_of if element.attribute(name) is not None]
        if len(present) != 1:
            either = " nor ".join(definition.one_attribute_of) if not present else " and ".join(present)
            yield Problem("PA110", element, f"a script <{element.tag}> has {'neither ' if not present else 'both '}"
                          f"{either}: the schema takes exactly one", 'keep url="..." or path="...", not both'
                          if present else 'add url="..." or path="..."')


def _bad_value(element: XmlElement, definition: Definition, attribute: XmlAttribute, value_type: ValueType) -> Problem:
    if value_type.code == "PA105":
        complaint = ("is too short (at least 2 characters)" if value_type is JOB_NAME
                     else f"is invalid: it must be {value_type.what}")
        return Problem("PA105", attribute, f"{definition.label} {attribute.name} {attribute.value!r} {complaint}",
                       "rename it (no spaces, no leading digit)" if value_type is not JOB_NAME
                       else "give it a longer name")
    return Problem("PA109", attribute, f"<{element.tag}> attribute {attribute.name}={attribute.value!r} is not "
                   f"{value_type.what}", "use a value the schema allows"
                   + (" or a ${VARIABLE} reference" if value_type.variable_ok else ""))


def _duplicate_names(workflow: Workflow) -> Iterator[Problem]:
    seen: Dict[str, XmlElement] = {}
    for task in workflow.root.findall("taskFlow/task"):
        task_name = task.get("name")
        if task_name is not None and task_name in seen:
            yield Problem("PA106", task, f"task name {task_name!r} is used twice (first at line {seen[task_name].line})",
                          "give each task a unique name")
        elif task_name is not None:
            seen[task_name] = task


def _references(workflow: Workflow) -> Iterator[Problem]:
    root = workflow.root
    tasks = [task.get("name") for task in root.findall("taskFlow/task")]
    known = set(name for name in tasks if name)
    depends: Dict[str, List[str]] = {}
    for task in root.findall("taskFlow/task"):
        name = task.get("name") or "?"
        for ref in task.findall("depends/task"):
            target = ref.get("ref")
            if target is None:
                continue  # the content model reports the missing attribute
            if target not in known:
                yield Problem("PA107", ref.attribute("ref") or ref, f"task {name} depends on {target!r}, which is no task "
                              "of this workflow", "name an existing task in <depends><task ref=.../>")
            else:
                depends.setdefault(name, []).append(target)
        for action in ("loop", "if"):
            for element in task.findall(f"controlFlow/{action}"):
                for attribute_name in (("target",) if action == "loop" else ("target", "else", "continuation")):
                    attribute = element.attribute(attribute_name)  # a missing one: the content model's
                    if attribute is not None and attribute.value not in known:
                        yield Problem("PA107", attribute, f"<{action}> {attribute_name} of task {name} names "
                                      f"{attribute.value!r}, which is no task of this workflow", "name an existing task")
    yield from _cycles(root, depends)


def _control_flow(workflow: Workflow) -> Iterator[Problem]:
    """What the scheduler's control-flow check refuses at submission (ProActive's FlowChecker,
    ow2-proactive/scheduling, scheduler-api ``job/factories/FlowChecker.java``), where the
    answer needs no analysis of task blocks: each condition below is one that check refuses.
    Dependencies are counted as written (a task named twice in <depends> counts twice)."""
    tasks = {task.get("name"): task for task in workflow.root.findall("taskFlow/task")}
    depends = {name: [ref.get("ref") for ref in task.findall("depends/task")] for name, task in tasks.items()}
    dependants: Dict[str, List[str]] = {}
    for name, refs in depends.items():
        for ref in refs:
            dependants.setdefault(ref or "", []).append(name or "")
    fix = "see the control-flow rules of ProActive's documentation (task blocks, loops, branches, replication)"
    blocks = [_block(task) for task in tasks.values()]
    if None not in blocks and blocks.count("start") != blocks.count("end"):
        yield Problem("PA115", workflow.root.find("taskFlow") or workflow.root,
                      f"{blocks.count('start')} task block start(s) and {blocks.count('end')} end(s): each "
                      'block="start" pairs with one block="end" down its dependencies', fix)
    targeted: Dict[str, str] = {}  # task -> the IF task whose target or else it is
    for name, task in tasks.items():
        block = _block(task)
        branch, loop = task.find("controlFlow/if"), task.find("controlFlow/loop")
        if branch is not None:
            target, other = branch.get("target"), branch.get("else")
            if target is not None and target == other and target in tasks:
                yield Problem("PA115", branch, f"<if> of task {name}: target and else are the same task {target!r}",
                              "branch to two different tasks")
                continue
            for attribute, chosen in (("target", target), ("else", other)):
                if chosen not in tasks:
                    continue  # PA107
                if chosen in targeted:
                    yield Problem("PA115", branch.attribute(attribute) or branch, f"task {chosen!r} is the target of "
                                  f"two <if> actions (tasks {targeted[chosen]} and {name})", fix)
                targeted[chosen] = name or ""
                if branch.get("continuation") is None and depends.get(chosen):
                    yield Problem("PA115", branch.attribute(attribute) or branch, f"the {attribute} of task {name}'s "
                                  f"<if>, task {chosen!r}, has dependencies: a branch without continuation starts "
                                  "with a task that depends on none", fix)
        if loop is not None and loop.get("target") in tasks:
            target = loop.get("target") or ""
            target_block = _block(tasks[target])
            looping_on_itself = target == name and block == "none"
            if block is None or target_block is None:
                pass  # an invalid block attribute: PA109
            elif not looping_on_itself and not (target != name and target_block == "start" and block == "end"):
                yield Problem("PA115", loop.attribute("target") or loop, f"the <loop> of task {name} does not close "
                              "a task block: it loops on itself (no block attribute) or on the task that starts "
                              f'the block it ends (block="start" there, block="end" here)', fix)
            elif len(depends.get(target, [])) > 1:
                yield Problem("PA115", loop.attribute("target") or loop, f"task {target!r}, the target of the "
                              f"<loop> of task {name}, has {len(depends[target])} dependencies: a loop target "
                              "has at most one", fix)
        if task.find("controlFlow/replicate") is not None:
            for child in dependants.get(name or "", []):
                child_flow = tasks[child].find("controlFlow") if child in tasks else None
                child_block = _block(tasks[child]) if child in tasks else None
                if child_block is None:
                    continue  # an invalid block attribute: PA109
                if len(depends.get(child, [])) != 1:
                    problem = "depends on other tasks too: a replicated task depends on its replicate task only"
                elif child_block == "end":
                    problem = 'ends a task block (block="end"): a replicated task cannot'
                elif child_block == "start":
                    continue  # the merge point is past the block's end: not judged here
                elif not dependants.get(child):
                    problem = "has no task depending on it: the replicated tasks have no merge point"
                elif child_flow is not None and (child_flow.find("if") is not None
                                                 or child_flow.find("replicate") is not None):
                    problem = "performs an <if> or <replicate>: the last task a replicate runs cannot"
                else:
                    continue
                yield Problem("PA115", tasks[child], f"task {child!r}, replicated by task {name}, {problem}", fix)


# Attributes the job factory parses after substituting variables (an enumeration, a whole number):
# a ${X} naming no variable stays as it is and fails to parse. Other typed attributes are read
# leniently (Boolean.parseBoolean, a default for an unknown policy): an undefined one passes there.
_PARSED_AFTER_SUBSTITUTION = {("files", "accessMode"), ("job", "maxNumberOfExecution"),
                              ("task", "maxNumberOfExecution"), ("task", "numberOfNodes"),
                              ("parallel", "numberOfNodes")}


def _undefined_references(workflow: Workflow) -> Iterator[Problem]:
    defined = set(SERVER_URL_VARIABLES) | {v.get("name") for v in workflow.root.iter("variable")}
    for element in workflow.root.iter():
        for attribute in element.attributes:
            reference = _REFERENCE.fullmatch(attribute.value)
            if (element.tag, attribute.name) in _PARSED_AFTER_SUBSTITUTION and reference \
                    and reference.group(1) not in defined:
                yield Problem("PA109", attribute, f"<{element.tag}> attribute {attribute.name}={attribute.value!r} "
                              f"names a variable the workflow does not define: the job factory parses "
                              f"{attribute.value!r} itself and refuses the job",
                              f"define the variable {reference.group(1)} in the job, or write the value")


def _block(task: XmlElement) -> Optional[str]:
    """The task's block role (start, end or none), None when its block attribute is invalid."""
    flow = task.find("controlFlow")
    block = " ".join((flow.get("block") or "none").split()) if flow is not None else "none"
    return block if block in ("start", "end", "none") else None


def _cycles(root: XmlElement, depends: Dict[str, List[str]]) -> Iterator[Problem]:
    state: Dict[str, int] = {}  # 1 visiting, 2 done
    elements = {task.get("name"): task for task in root.findall("taskFlow/task")}
    reported: Set[str] = set()

    def visit(name: str, path: List[str]) -> Iterator[Problem]:
        state[name] = 1
        for target in depends.get(name, ()):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [name, target]
                if target not in reported:
                    reported.add(target)
                    yield Problem("PA108", elements[target], "dependency cycle: " + " -> ".join(cycle),
                                  "remove one of these dependencies (a loop is written with <controlFlow><loop>)")
            elif state.get(target) is None:
                yield from visit(target, path + [target])
        state[name] = 2

    for name in depends:
        if state.get(name) is None:
            yield from visit(name, [name])


# The URL variables a ProActive server defines for every job (the factory substitutes them).
SERVER_URL_VARIABLES = ("PA_CATALOG_REST_URL", "PA_CATALOG_REST_PUBLIC_URL", "PA_SCHEDULER_REST_URL",
                        "PA_SCHEDULER_REST_PUBLIC_URL")
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9._]+)\}")


def _scripts(workflow: Workflow) -> Iterator[Problem]:
    """Script URLs as the job factory reads them: each ``${X}`` replaced by the task's, the job's or
    the server's variable X, then ``new URL(...)``, which needs a protocol."""
    job_values = {v.get("name"): v.get("value", "") for v in workflow.root.findall("variables/variable")}
    server = {name: f"http://server.invalid/{name}" for name in SERVER_URL_VARIABLES}
    for task in workflow.root.findall("taskFlow/task"):
        values = {**server, **job_values, **{v.get("name"): v.get("value", "") for v in task.findall("variables/variable")}}
        for element in task.iter("file"):
            url = element.attribute("url")  # neither url nor path: the content model's
            if url is not None:
                yield from _script_url(url, values)


def _script_url(url: XmlAttribute, values: Dict[Optional[str], str]) -> Iterator[Problem]:
    resolved = _REFERENCE.sub(lambda m: values.get(m.group(1), m.group(0)), url.value)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", resolved):
        return
    unresolved = _REFERENCE.match(resolved)
    if unresolved:
        yield Problem("PA110", url, f"script URL {url.value!r} starts with ${{{unresolved.group(1)}}}, which neither "
                      "the workflow nor the server defines: the job factory finds no protocol and refuses the job"
                      + did_you_mean(unresolved.group(1), [name for name in values if name]),
                      f"define the variable {unresolved.group(1)} in the job, or start the URL with "
                      f"{CATALOG_URL_VARIABLE}/buckets/...")
    elif "$" not in resolved.split("?")[0].split("/")[0]:  # "$X" forms: the scheduler may resolve them
        yield Problem("PA110", url, f"script URL {url.value!r} is not absolute once "
                      f"{CATALOG_URL_VARIABLE} is substituted: the scheduler refuses the job",
                      f"start it with {CATALOG_URL_VARIABLE}/buckets/... or a full http(s):// URL")


def _models(workflow: Workflow) -> Iterator[Problem]:
    job_values = {v.get("name"): v.get("value", "") for v in workflow.root.findall("variables/variable")}
    defined = set(job_values) | {v.get("name") for v in workflow.root.findall("taskFlow/task/variables/variable")}
    for holder in ("variables/variable", "taskFlow/task/variables/variable"):
        for variable in workflow.root.findall(holder):
            model = variable.attribute("model")
            if model is None or not model.value.strip():
                continue
            name = variable.get("name")
            value, whose = variable.get("value"), ""
            if holder.startswith("taskFlow") and _inherits(variable) and name in job_values:
                # The scheduler gives an inherited task variable the job's value, then checks that.
                value, whose = job_values[name], "the job's value it inherits: "
            undefined = _spel_undefined(model.value, defined)
            if undefined:
                yield Problem("PA112", model, f"variable {name}: the scheduler refuses its model: the expression needs "
                              f"the variable {undefined}, which the workflow does not define",
                              f"define the variable {undefined}, or guard it (variables['{undefined}']?.method())")
                continue
            try:
                reason = variable_models.check_value(model.value, value, literal=_names_nothing(value, defined))
            except variable_models.ModelError as error:
                yield Problem("PA111", model, f"variable {name}: {error}", "write a model ProActive knows, e.g. "
                              "PA:INTEGER, PA:INTEGER[1,10], PA:BOOLEAN, PA:LIST(a,b), PA:REGEXP(...)")
                continue
            if reason is not None:
                yield Problem("PA112", variable.attribute("value") or variable,
                              f"variable {name}: the scheduler refuses {whose or 'its value: '}{reason}",
                              "give a value the model accepts (or change the model)")


_SPEL_SHOW = re.compile(r"\b(?:showVar|hideVar)\(\s*'([A-Za-z0-9_.\-]+)'\s*\)")
_SPEL_CALL = re.compile(r"variables\['([A-Za-z0-9_.\-]+)'\]\.[A-Za-z_]\w*\s*\(")


def _spel_undefined(model: str, defined: Set[Optional[str]]) -> Optional[str]:
    """The variable a ``PA:SPEL(...)`` model needs and the workflow lacks: one it calls a method on
    (``variables['X'].m()``: the map gives null and the call fails; ``?.`` would be null-safe),
    or the one variable all its ``showVar``/``hideVar`` calls name. The scheduler evaluates the
    expression at submission and refuses the job when it fails."""
    if not re.match(r"\s*PA:SPEL2?\(", model, re.IGNORECASE):
        return None
    shown = set(_SPEL_SHOW.findall(model))  # showVar('X') / hideVar('X'): one variable in every branch
    if len(shown) == 1 and not shown <= defined:
        return shown.pop()
    return next((name for name in _SPEL_CALL.findall(model) if name not in defined), None)


def _names_nothing(value: Optional[str], defined: Set[Optional[str]]) -> bool:
    """The value is one ``${X}`` that no variable of the workflow (nor a PA_ variable the scheduler
    defines) answers: the scheduler leaves it as written and judges that text."""
    reference = _REFERENCE.fullmatch(value or "")
    return bool(reference) and reference.group(1) not in defined and not reference.group(1).startswith("PA_")


def _inherits(variable: XmlElement) -> bool:
    """inherited="true", read as the job factory reads it (Java's ``Boolean.valueOf``: "1" is
    not true there, though the schema accepts it)."""
    return (variable.get("inherited") or "").lower() == "true"


def _namespace(workflow: Workflow) -> Iterator[Problem]:
    namespace = workflow.root.namespace
    version = namespace[len(NAMESPACE_PREFIX):] if namespace.startswith(NAMESPACE_PREFIX) else None
    if version not in VERSIONS:
        yield Problem("PA101", workflow.root, f"unknown namespace {namespace or '(none)'!r}: the scheduler reads "
                      f"{NAMESPACE_PREFIX}3.0 to 3.14",
                      f'set xmlns="{NAMESPACE_PREFIX}3.14" on <job> (3.14 needs ProActive 13.1 or later)')


def problems(workflow: Workflow) -> List[Problem]:
    """Everything the job factory would refuse in ``workflow`` (a ``<job>`` document)."""
    found: List[Problem] = list(_namespace(workflow))
    found += _content_problems(workflow.root, ROOT[1])
    found += _duplicate_names(workflow)
    found += _references(workflow)
    found += _control_flow(workflow)
    found += _scripts(workflow)
    found += _undefined_references(workflow)
    found += _models(workflow)
    return found
