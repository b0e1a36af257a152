"""What ProActive's job factory refuses at parse or submission, checked on the workflow model.

Written from the rules of the jobdescriptor 3.x schema (ProActive's ``schedulerjob.rnc`` in
ow2-proactive/scheduling, ``scheduler-api/.../schemas/jobdescriptor/<version>``) and from what
the job factory checks beyond it (task dependencies, control-flow targets, script URLs,
variable models — ``StaxJobFactory`` and the model validators). ProActive's schema files are
not shipped: the rules are restated here, one place to correct if ProActive changes them.

Each check yields ``Problem(code, element_or_attribute, message, fix)``; ``psa validate``
turns them into findings. Values holding a variable reference (``${X}``) are accepted where
the schema accepts ``variableRefType``: the scheduler substitutes them before it checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from . import variable_models
from .model import CATALOG_URL_VARIABLE, NAMESPACE_PREFIX, Workflow, XmlAttribute, XmlElement

# Known jobdescriptor versions (ProActive ships a schema for each).
VERSIONS = tuple(f"3.{minor}" for minor in range(15)) + ("dev",)

# The order the schema imposes on the children of <job> and <task> (each at most once, except
# where noted); <taskFlow> and an executable are required.
JOB_ORDER = ("variables", "description", "genericInformation", "inputSpace", "outputSpace", "globalSpace",
             "userSpace", "taskFlow", "metadata")
TASK_ORDER = ("description", "variables", "genericInformation", "depends", "inputFiles", "parallel", "selection",
              "forkEnvironment", "pre", ("scriptExecutable", "nativeExecutable", "javaExecutable"), "controlFlow",
              "post", "cleaning", "outputFiles", "metadata")
_VARIABLE_REF = re.compile(r"^\$\{[A-Za-z0-9._]+\}$")
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9._\-]*$")
_DURATION = re.compile(r"^[0-9]*[1-9][0-9]*(:[0-5][0-9]){0,2}$")
_CLASS = re.compile(r"^([A-Za-z_$][A-Za-z_0-9$]*\.)*[A-Za-z_$][A-Za-z_0-9$]*$")
_TAGS = re.compile(r"^([A-Za-z_0-9\-\s]+(,[A-Za-z_0-9\-\s]+)*)?$")
_BOOLEANS = ("true", "false", "1", "0")

# attribute -> (allowed values or a pattern, what it must be, whether ${VAR} is accepted)
Rule = Tuple[Union[Tuple[str, ...], "re.Pattern[str]", str], str, bool]
_JOB_ATTRIBUTES: Dict[str, Rule] = {
    "priority": (("highest", "high", "normal", "low", "lowest"), "a priority", True),
    "onTaskError": (("cancelJob", "suspendTask", "pauseJob", "continueJobExecution", "none"), "an error policy", True),
    "restartTaskOnError": (("anywhere", "elsewhere"), "a restart policy", True),
    "taskRetryDelay": (_DURATION, "a duration (ss, mm:ss or hh:mm:ss)", True),
    "maxNumberOfExecution": ("nonNegativeInteger", "a whole number >= 0", True),
    "tags": (_TAGS, "comma-separated tags of letters, digits, '_', '-' and spaces", False),
}
_TASK_ATTRIBUTES: Dict[str, Rule] = {
    "numberOfNodes": ("positiveInteger", "a whole number >= 1", True),
    "onTaskError": _JOB_ATTRIBUTES["onTaskError"],
    "restartTaskOnError": (("anywhere", "elsewhere"), "a restart policy", False),
    "taskRetryDelay": _JOB_ATTRIBUTES["taskRetryDelay"],
    "maxNumberOfExecution": _JOB_ATTRIBUTES["maxNumberOfExecution"],
    "fork": (_BOOLEANS, "true or false", True),
    "runAsMe": (_BOOLEANS, "true or false", True),
    "walltime": (_DURATION, "a duration (ss, mm:ss or hh:mm:ss)", True),
    "preciousResult": (_BOOLEANS, "true or false", True),
    "preciousLogs": (_BOOLEANS, "true or false", True),
    "resultPreviewClass": (_CLASS, "a Java class name", True),
}
_OTHER_ATTRIBUTES: Dict[Tuple[str, str], Rule] = {
    ("variable", "advanced"): (_BOOLEANS, "true or false", False),
    ("variable", "hidden"): (_BOOLEANS, "true or false", False),
    ("variable", "inherited"): (_BOOLEANS, "true or false", False),
    ("controlFlow", "block"): (("start", "end", "none"), "start, end or none", False),
    ("script", "type"): (("dynamic", "static"), "dynamic or static", True),
    ("parallel", "numberOfNodes"): ("positiveInteger", "a whole number >= 1", True),
    ("thresholdProximity", "threshold"): ("nonNegativeInteger", "a whole number >= 0", False),
}
_ACCESS_MODES = {
    "inputFiles": ("transferFromInputSpace", "transferFromOutputSpace", "transferFromGlobalSpace",
                   "transferFromUserSpace", "cacheFromInputSpace", "cacheFromOutputSpace", "cacheFromGlobalSpace",
                   "cacheFromUserSpace", "none"),
    "outputFiles": ("transferToOutputSpace", "transferToGlobalSpace", "transferToUserSpace", "none"),
}


@dataclass(frozen=True)
class Problem:
    code: str
    where: Union[XmlElement, XmlAttribute]
    message: str
    fix: str


def _valid(value: str, rule: Rule) -> bool:
    allowed, _, variable_ok = rule
    if variable_ok and _VARIABLE_REF.match(value):
        return True
    if allowed == "nonNegativeInteger":
        return bool(re.fullmatch(r"\+?\d+", value.strip()))
    if allowed == "positiveInteger":
        return bool(re.fullmatch(r"\+?\d+", value.strip())) and int(value) > 0
    if isinstance(allowed, tuple):
        return value in allowed
    return bool(allowed.match(value))  # type: ignore[union-attr]


def _attribute_problems(element: XmlElement, rules: Dict[str, Rule]) -> Iterator[Problem]:
    for name, rule in rules.items():
        attribute = element.attribute(name)
        if attribute is not None and not _valid(attribute.value, rule):
            allowed = rule[0]
            listed = f" ({', '.join(allowed)})" if isinstance(allowed, tuple) and allowed is not _BOOLEANS else ""
            yield Problem("PA109", attribute, f"<{element.tag}> attribute {name}={attribute.value!r} is not {rule[1]}",
                          f"use one of the values the schema allows{listed}"
                          + (" or a ${VARIABLE} reference" if rule[2] else ""))


def _order_problems(element: XmlElement, order: Sequence[Union[str, Tuple[str, ...]]]) -> Iterator[Problem]:
    rank = {}
    for position, entry in enumerate(order):
        for tag in (entry if isinstance(entry, tuple) else (entry,)):
            rank[tag] = position
    last, seen = -1, set()
    for child in element.children:
        if child.tag not in rank:
            continue  # unknown: reported by PA103
        position = rank[child.tag]
        if position in seen and child.tag != "selection":
            yield Problem("PA102", child, f"<{child.tag}> appears twice in <{element.tag}>",
                          f"keep one <{child.tag}> (merge their contents)")
        elif position < last:
            before = next(c.tag for c in element.children if rank.get(c.tag, -1) > position)
            yield Problem("PA102", child, f"<{child.tag}> is out of the schema's order in <{element.tag}>: "
                          f"it must come before <{before}>",
                          "order the children as: " + ", ".join(
                              "|".join(e) if isinstance(e, tuple) else e for e in order))
        seen.add(position)
        last = max(last, position)


def _names(workflow: Workflow) -> Iterator[Problem]:
    root = workflow.root
    name = root.attribute("name")
    if name is None:
        yield Problem("PA113", root, "the job has no name attribute", 'add name="My_Workflow" to <job>')
    elif len(name.value) < 2:
        yield Problem("PA105", name, f"job name {name.value!r} is too short (at least 2 characters)",
                      "give the job a longer name")
    for holder in ("variables/variable", "taskFlow/task/variables/variable"):
        for variable in root.findall(holder):
            yield from _named(variable, "variable", "a letter or '_' then letters, digits, '_', '.', '-'")
            if variable.attribute("value") is None:
                yield Problem("PA113", variable, f"variable {variable.get('name')!r} has no value attribute",
                              'add value="" (an empty value) or a default value')
    for info in list(root.findall("genericInformation/info")) + list(root.findall("taskFlow/task/genericInformation/info")):
        yield from _named(info, "generic information", "a letter or '_' then letters, digits, '_', '.', '-'")
        if info.attribute("value") is None:
            yield Problem("PA113", info, f"generic information {info.get('name')!r} has no value attribute",
                          'add value="..."')
    seen: Dict[str, XmlElement] = {}
    for task in root.findall("taskFlow/task"):
        task_name = task.get("name")
        yield from _named(task, "task", "an XML ID: a letter or '_' then letters, digits, '_', '.', '-'")
        if task_name is not None and task_name in seen:
            yield Problem("PA106", task, f"task name {task_name!r} is used twice (first at line {seen[task_name].line})",
                          "give each task a unique name")
        elif task_name is not None:
            seen[task_name] = task


def _named(element: XmlElement, what: str, rule: str) -> Iterator[Problem]:
    attribute = element.attribute("name")
    if attribute is None:
        yield Problem("PA113", element, f"a {what} has no name attribute", f'add name="..." to <{element.tag}>')
    elif not _NCNAME.match(attribute.value):
        yield Problem("PA105", attribute, f"{what} name {attribute.value!r} is invalid: it must be {rule}",
                      "rename it (no spaces, no leading digit)")


def _references(workflow: Workflow) -> Iterator[Problem]:
    root = workflow.root
    tasks = [task.get("name") for task in root.findall("taskFlow/task")]
    known = set(name for name in tasks if name)
    depends: Dict[str, List[str]] = {}
    for task in root.findall("taskFlow/task"):
        name = task.get("name") or "?"
        for ref in task.findall("depends/task"):
            target = ref.get("ref")
            if target not in known:
                yield Problem("PA107", ref.attribute("ref") or ref, f"task {name} depends on {target!r}, which is no task "
                              "of this workflow", "name an existing task in <depends><task ref=.../>")
            else:
                depends.setdefault(name, []).append(target)
        for action in ("loop", "if"):
            for element in task.findall(f"controlFlow/{action}"):
                for attribute_name in (("target",) if action == "loop" else ("target", "else", "continuation")):
                    attribute = element.attribute(attribute_name)
                    if attribute is None:
                        if attribute_name != "continuation":
                            yield Problem("PA113", element, f"<{action}> of task {name} has no {attribute_name}",
                                          f'add {attribute_name}="TaskName"')
                    elif attribute.value not in known:
                        yield Problem("PA107", attribute, f"<{action}> {attribute_name} of task {name} names "
                                      f"{attribute.value!r}, which is no task of this workflow", "name an existing task")
        if task.find("scriptExecutable") is None and task.find("nativeExecutable") is None \
                and task.find("javaExecutable") is None:
            yield Problem("PA113", task, f"task {name} has no executable",
                          "add a <scriptExecutable>, <nativeExecutable> or <javaExecutable>")
    yield from _cycles(root, depends)


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


def _scripts(workflow: Workflow) -> Iterator[Problem]:
    variables = {v.get("name"): v.get("value", "") for v in workflow.root.findall("variables/variable")}
    for element in workflow.root.iter("file"):
        url, path = element.attribute("url"), element.attribute("path")
        if url is None and path is None:
            yield Problem("PA110", element, "a script <file> has neither url nor path", 'add url="..." or path="..."')
            continue
        if url is None:
            continue
        resolved = url.value.replace(CATALOG_URL_VARIABLE, "http://catalog.invalid/catalog")
        resolved = re.sub(r"\$\{([A-Za-z0-9._]+)\}", lambda m: variables.get(m.group(1), m.group(0)), resolved)
        if "${" in resolved or "$" in resolved.split("?")[0].split("/")[0]:
            continue  # a reference we cannot resolve here: the scheduler may
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", resolved):
            yield Problem("PA110", url, f"script URL {url.value!r} is not absolute once "
                          f"{CATALOG_URL_VARIABLE} is substituted: the scheduler refuses the job",
                          f"start it with {CATALOG_URL_VARIABLE}/buckets/... or a full http(s):// URL")
    for element in workflow.root.iter("code"):
        if element.attribute("language") is None:
            yield Problem("PA113", element, "a script <code> has no language", 'add language="cpython" (or bash, groovy...)')


def _models(workflow: Workflow) -> Iterator[Problem]:
    for holder in ("variables/variable", "taskFlow/task/variables/variable"):
        for variable in workflow.root.findall(holder):
            model = variable.attribute("model")
            if model is None or not model.value.strip():
                continue
            name = variable.get("name")
            try:
                reason = variable_models.check_value(model.value, variable.get("value"))
            except variable_models.ModelError as error:
                yield Problem("PA111", model, f"variable {name}: {error}", "write a model ProActive knows, e.g. "
                              "PA:INTEGER, PA:INTEGER[1,10], PA:BOOLEAN, PA:LIST(a,b), PA:REGEXP(...)")
                continue
            if reason is not None:
                yield Problem("PA112", variable.attribute("value") or variable,
                              f"variable {name}: the scheduler refuses its value: {reason}",
                              "give a value the model accepts (or change the model)")


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
    for element in workflow.unknown_elements():
        found.append(Problem("PA103", element, f"unknown element <{element.tag}> here: the schema does not allow it",
                             "remove it or move it where the schema defines it"))
    for element, attribute in workflow.unknown_attributes():
        found.append(Problem("PA104", attribute, f"unknown attribute {attribute.name!r} on <{element.tag}>",
                             "remove it (check its spelling and case)"))
    root = workflow.root
    found += _order_problems(root, JOB_ORDER)
    if root.find("taskFlow") is None:
        found.append(Problem("PA113", root, "the job has no <taskFlow>", "add <taskFlow> with at least one <task>"))
    found += _attribute_problems(root, _JOB_ATTRIBUTES)
    for task in root.findall("taskFlow/task"):
        found += _order_problems(task, TASK_ORDER)
        found += _attribute_problems(task, _TASK_ATTRIBUTES)
    for element in root.iter():
        for (tag, attribute_name), rule in _OTHER_ATTRIBUTES.items():
            if element.tag == tag:
                found += _attribute_problems(element, {attribute_name: rule})
        if element.tag == "files":
            for holder, modes in _ACCESS_MODES.items():
                if any(element in parent.children for parent in root.iter(holder)):
                    found += _attribute_problems(element, {"accessMode": (modes, "an access mode", True)})
    found += _names(workflow)
    found += _references(workflow)
    found += _scripts(workflow)
    found += _models(workflow)
    return found
