"""The content model of a ProActive job (jobdescriptor 3.14), restated as data.

ProActive's job factory validates a workflow against the RELAX NG schema of its namespace
(ow2-proactive/scheduling, ``scheduler/scheduler-api/src/main/resources/org/ow2/proactive/
scheduler/common/xml/schemas/jobdescriptor/3.14/schedulerjob.rnc``, compiled to ``.rng``
and checked by MSV in ``ValidationUtil``). That schema is not shipped here: each definition
below says in our words what one of its patterns allows, and ``cites`` names the pattern.
What the schema says, read once:

- Each element has a fixed sequence of children: a slot is one tag or a choice of tags, with a
  minimum and a maximum count; a child out of that order, one slot filled too often, a tag the
  sequence does not name, or a required slot left empty makes the job invalid.
- Each element has a closed set of attributes; some are required; some take a typed value
  (boolean, whole number, duration, enumeration), often "or a ``${VARIABLE}`` reference"
  (``variableRefType``) which the scheduler substitutes before it uses the value.
- Text may stand only in ``<description>``, ``<code>`` and the children of ``<metadata>``;
  anywhere else only white space.
- ``<metadata>`` holds any elements, each with text only (no attribute, no child).

Older namespaces (3.0 to 3.13) differ by a few attributes only (3.13 lacks ``tags``): a workflow
is read against 3.14's model whatever its 3.x namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Mapping, Optional, Tuple

# --- value types (the schema's datatypes) -------------------------------------------------------------
_VARIABLE_REF = re.compile(r"\$\{[A-Za-z0-9._]+\}")  # variableRefType, a whole value
_NCNAME = re.compile(r"[A-Za-z_][A-Za-z0-9._\-]*")  # xsd:NCName / xsd:ID (ASCII part)
_DURATION = re.compile(r"[0-9]*[1-9][0-9]*(:[0-5][0-9]){0,2}")  # durationPattern
_CLASS = re.compile(r"([A-Za-z_$][A-Za-z_0-9$]*\.)*[A-Za-z_$][A-Za-z_0-9$]*")  # classPattern
_TAGS = re.compile(r"([A-Za-z_0-9\-\s]+(,[A-Za-z_0-9\-\s]+)*)?")  # workflowTagPattern
_INEXCLUDE = re.compile(r"[^\r\n]+(,[^\r\n]+)*")  # inexcludePattern (XSD's '.' is no line break)


def _collapse(value: str) -> str:
    """XSD's whiteSpace=collapse, which booleans, numbers, names and enumerations get."""
    return " ".join(value.split())


@dataclass(frozen=True)
class ValueType:
    """An attribute's datatype: what a value must be, and the check."""

    what: str  # "true or false", "a whole number >= 1"...
    check: Callable[[str], bool] = field(repr=False)
    variable_ok: bool = False  # "| variableRefType": a ${NAME} reference is accepted as a whole value
    code: str = "PA109"  # PA105 for the name attributes

    def accepts(self, value: str) -> bool:
        return (self.variable_ok and bool(_VARIABLE_REF.fullmatch(value))) or self.check(value)


def _enumeration(*values: str) -> Callable[[str], bool]:
    return lambda value: _collapse(value) in values


def _pattern(pattern: "re.Pattern[str]", collapse: bool = False) -> Callable[[str], bool]:
    return lambda value: bool(pattern.fullmatch(_collapse(value) if collapse else value))


def _integer(minimum: int) -> Callable[[str], bool]:
    return lambda value: bool(re.fullmatch(r"\+?[0-9]+", _collapse(value))) and int(_collapse(value)) >= minimum


BOOLEAN = ValueType("true or false", _enumeration("true", "false", "1", "0"))
BOOLEAN_OR_VARIABLE = ValueType(BOOLEAN.what, BOOLEAN.check, variable_ok=True)
POSITIVE_OR_VARIABLE = ValueType("a whole number >= 1", _integer(1), variable_ok=True)
NON_NEGATIVE = ValueType("a whole number >= 0", _integer(0))
NON_NEGATIVE_OR_VARIABLE = ValueType(NON_NEGATIVE.what, NON_NEGATIVE.check, variable_ok=True)
DURATION_OR_VARIABLE = ValueType("a duration (ss, mm:ss or hh:mm:ss)", _pattern(_DURATION), variable_ok=True)
CLASS_OR_VARIABLE = ValueType("a Java class name", _pattern(_CLASS), variable_ok=True)
TAGS = ValueType("comma-separated tags of letters, digits, '_', '-' and spaces", _pattern(_TAGS))
NON_EMPTY = ValueType("a non-empty string", lambda value: value != "")
INEXCLUDE = ValueType("a file pattern (a comma-separated list, not empty)", _pattern(_INEXCLUDE))
def _uri_reference(value: str) -> bool:
    """xsd:anyURI as MSV reads it, in the one respect checked here: a colon in the first segment
    (before any '/', '?' or '#') ends a scheme, which is a letter then letters, digits, '+', '-'
    or '.' (RFC 2396: "12:99" is no URI; "C:/java" and "http://h" are)."""
    first = re.split(r"[/?#]", value.strip(), maxsplit=1)[0]
    return ":" not in first or bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", first.split(":", 1)[0]))


URI_OR_VARIABLE = ValueType("a URI (a scheme before the first ':' of its first segment)", _uri_reference,
                            variable_ok=True)
NAME = ValueType("an XML name: a letter or '_' then letters, digits, '_', '.', '-'",
                 _pattern(_NCNAME, collapse=True), code="PA105")
JOB_NAME = ValueType("at least 2 characters long", lambda value: len(value) >= 2, code="PA105")
PRIORITY = ValueType("a priority", _enumeration("highest", "high", "normal", "low", "lowest"), variable_ok=True)
ERROR_POLICY = ValueType("an error policy", _enumeration("cancelJob", "suspendTask", "pauseJob",
                                                        "continueJobExecution", "none"), variable_ok=True)
RESTART_POLICY_OR_VARIABLE = ValueType("a restart policy", _enumeration("anywhere", "elsewhere"), variable_ok=True)
BLOCK = ValueType("start, end or none", _enumeration("start", "end", "none"))
SCRIPT_TYPE = ValueType("dynamic or static", _enumeration("dynamic", "static"), variable_ok=True)
INPUT_ACCESS = ValueType("an input access mode", _enumeration(
    "transferFromInputSpace", "transferFromOutputSpace", "transferFromGlobalSpace", "transferFromUserSpace",
    "cacheFromInputSpace", "cacheFromOutputSpace", "cacheFromGlobalSpace", "cacheFromUserSpace", "none"),
    variable_ok=True)
OUTPUT_ACCESS = ValueType("an output access mode", _enumeration(
    "transferToOutputSpace", "transferToGlobalSpace", "transferToUserSpace", "none"), variable_ok=True)


@dataclass(frozen=True)
class Attribute:
    required: bool = False
    type: Optional[ValueType] = None  # None: any string


OPTIONAL = Attribute()
REQUIRED = Attribute(required=True)


@dataclass(frozen=True)
class Slot:
    """One place in an element's sequence of children: one of ``tags`` (each read as the
    definition named beside it), between ``minimum`` and ``maximum`` times (None: no bound)."""

    choices: Tuple[Tuple[str, str], ...]  # (tag, definition)
    minimum: int = 0
    maximum: Optional[int] = 1
    after: Optional[str] = None  # allowed only right after a child of this tag (code's arguments)

    @property
    def tags(self) -> Tuple[str, ...]:
        return tuple(tag for tag, _ in self.choices)


def one(tag: str, definition: Optional[str] = None, *, minimum: int = 0, maximum: Optional[int] = 1,
        after: Optional[str] = None) -> Slot:
    return Slot(((tag, definition or tag),), minimum, maximum, after)


def choice(*choices: Tuple[str, str], minimum: int = 1) -> Slot:
    return Slot(tuple(choices), minimum, 1)


@dataclass(frozen=True)
class Definition:
    """What one pattern of the schema allows for an element."""

    cites: str  # the schema pattern restated
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    content: Tuple[Slot, ...] = ()
    text: bool = False  # text content allowed
    any_children: Optional[str] = None  # any element is allowed, read as this definition (metadata)
    one_attribute_of: Tuple[str, ...] = ()  # exactly one of these attributes (file: path | url)
    label: str = ""  # how a message names it ("task", "variable"...)


_SCRIPT_CHOICE = (("code", "code"), ("file", "file"))
_SIMPLE_SCRIPT = (one("script", "simpleScript", minimum=1),)
_SPACE = {"url": Attribute(True, URI_OR_VARIABLE)}
# What to do when a task fails, on the job (its default) and on each task: the same four attributes.
_ON_ERROR = {"onTaskError": Attribute(type=ERROR_POLICY), "restartTaskOnError": Attribute(type=RESTART_POLICY_OR_VARIABLE),
             "taskRetryDelay": Attribute(type=DURATION_OR_VARIABLE),
             "maxNumberOfExecution": Attribute(type=NON_NEGATIVE_OR_VARIABLE)}

DEFINITIONS: Dict[str, Definition] = {
    "job": Definition(
        "job", {
            "name": Attribute(True, JOB_NAME), "priority": Attribute(type=PRIORITY),
            **_ON_ERROR,
            "projectName": OPTIONAL, "tags": Attribute(type=TAGS)},
        (one("variables"), one("description", "jobDescription"), one("genericInformation"),
         one("inputSpace"), one("outputSpace"), one("globalSpace"), one("userSpace"),
         one("taskFlow", minimum=1), one("metadata")), label="job"),
    "variables": Definition("variables", content=(one("variable", minimum=1, maximum=None),)),
    "variable": Definition("variable", {
        "name": Attribute(True, NAME), "value": REQUIRED, "model": OPTIONAL, "description": OPTIONAL,
        "group": OPTIONAL, "advanced": Attribute(type=BOOLEAN), "hidden": Attribute(type=BOOLEAN)},
        label="variable"),
    "jobDescription": Definition("jobDescription", text=True),
    "genericInformation": Definition("genericInformation", content=(one("info", minimum=1, maximum=None),)),
    "info": Definition("info", {"name": Attribute(True, NAME), "value": REQUIRED}, label="generic information"),
    "inputSpace": Definition("inputSpace", _SPACE),
    "outputSpace": Definition("outputSpace", _SPACE),
    "globalSpace": Definition("globalSpace", _SPACE),
    "userSpace": Definition("userSpace", _SPACE),
    "taskFlow": Definition("taskFlow", content=(one("task", minimum=1, maximum=None),)),
    "metadata": Definition("metadata", any_children="anymetadata"),
    "anymetadata": Definition("anymetadata", text=True),
    "task": Definition(
        "task", {
            "name": Attribute(True, NAME), "numberOfNodes": Attribute(type=POSITIVE_OR_VARIABLE),
            **_ON_ERROR,
            "fork": Attribute(type=BOOLEAN_OR_VARIABLE), "runAsMe": Attribute(type=BOOLEAN_OR_VARIABLE),
            "walltime": Attribute(type=DURATION_OR_VARIABLE), "preciousResult": Attribute(type=BOOLEAN_OR_VARIABLE),
            "preciousLogs": Attribute(type=BOOLEAN_OR_VARIABLE),
            "resultPreviewClass": Attribute(type=CLASS_OR_VARIABLE)},
        (one("description", "taskDescription"), one("variables", "taskVariables"), one("genericInformation"),
         one("depends"), one("inputFiles"), one("parallel"), one("selection"), one("forkEnvironment"), one("pre"),
         choice(("nativeExecutable", "nativeExecutable"), ("javaExecutable", "javaExecutable"),
                ("scriptExecutable", "scriptExecutable")),
         one("controlFlow", "flow"), one("post"), one("cleaning"), one("outputFiles"), one("metadata")),
        label="task"),
    "taskDescription": Definition("taskDescription", text=True),
    "taskVariables": Definition("taskVariables", content=(one("variable", "taskVariable", minimum=1, maximum=None),)),
    "taskVariable": Definition("taskVariable", {
        "name": Attribute(True, NAME), "value": REQUIRED, "inherited": Attribute(type=BOOLEAN), "model": OPTIONAL,
        "description": OPTIONAL, "group": OPTIONAL, "advanced": Attribute(type=BOOLEAN),
        "hidden": Attribute(type=BOOLEAN)}, label="variable"),
    "depends": Definition("depends", content=(one("task", "dependsTask", minimum=1, maximum=None),)),
    "dependsTask": Definition("dependsTask", {"ref": REQUIRED}),
    "inputFiles": Definition("inputFiles", content=(one("files", "infiles_", minimum=1, maximum=None),)),
    "infiles_": Definition("infiles_", {"includes": Attribute(True, INEXCLUDE), "excludes": Attribute(type=INEXCLUDE),
                                        "accessMode": Attribute(True, INPUT_ACCESS)}),
    "outputFiles": Definition("outputFiles", content=(one("files", "outfiles_", minimum=1, maximum=None),)),
    "outfiles_": Definition("outfiles_", {"includes": Attribute(True, INEXCLUDE), "excludes": Attribute(type=INEXCLUDE),
                                          "accessMode": Attribute(True, OUTPUT_ACCESS)}),
    "parallel": Definition("parallel", {"numberOfNodes": Attribute(True, POSITIVE_OR_VARIABLE)},
                           (one("topology"),)),
    "topology": Definition("topology", content=(choice(
        *((tag, "emptyTopology") for tag in ("arbitrary", "bestProximity", "singleHost", "singleHostExclusive",
                                             "multipleHostsExclusive", "differentHostsExclusive")),
        ("thresholdProximity", "thresholdProximity")),)),
    "emptyTopology": Definition("arbitrary | bestProximity | singleHost | ... (empty)"),
    "thresholdProximity": Definition("thresholdProximity", {"threshold": Attribute(True, NON_NEGATIVE)}),
    "selection": Definition("selection", content=(one("script", "selectionScript", minimum=1, maximum=None),)),
    "selectionScript": Definition("selectionScript", {"type": Attribute(type=SCRIPT_TYPE)},
                                  (choice(*_SCRIPT_CHOICE), one("arguments", "fileScriptArguments", after="code"))),
    "simpleScript": Definition("simpleScript", content=(choice(*_SCRIPT_CHOICE),
                                                        one("arguments", "fileScriptArguments", after="code"))),
    "code": Definition("codeScript", {"language": Attribute(True, NON_EMPTY)}, text=True),
    "file": Definition("fileScript", {"path": Attribute(type=URI_OR_VARIABLE),
                                     "url": Attribute(type=URI_OR_VARIABLE), "language": Attribute(type=NON_EMPTY)},
                       (one("arguments", "fileScriptArguments"),), one_attribute_of=("url", "path")),
    "fileScriptArguments": Definition("fileScriptArguments",
                                      content=(one("argument", "valueOnly", minimum=1, maximum=None),)),
    "valueOnly": Definition("fileScriptArgument | commandArgument | jvmArg", {"value": REQUIRED}),
    "forkEnvironment": Definition("forkEnvironment",
                                  {"workingDir": OPTIONAL, "javaHome": Attribute(type=URI_OR_VARIABLE)},
                                  (one("SystemEnvironment", "sysProps"), one("jvmArgs"), one("additionalClasspath"),
                                   one("envScript"))),
    "sysProps": Definition("sysProps", content=(one("variable", "sysProp", minimum=1, maximum=None),)),
    "sysProp": Definition("sysProp", {"name": REQUIRED, "value": REQUIRED}),
    "jvmArgs": Definition("jvmArgs", content=(one("jvmArg", "valueOnly", minimum=1, maximum=None),)),
    "additionalClasspath": Definition("additionalClasspath",
                                      content=(one("pathElement", minimum=1, maximum=None),)),
    "pathElement": Definition("pathElement", {"path": REQUIRED}),
    "envScript": Definition("envScript", content=_SIMPLE_SCRIPT),
    "pre": Definition("pre", content=_SIMPLE_SCRIPT),
    "post": Definition("post", content=_SIMPLE_SCRIPT),
    "cleaning": Definition("cleaning", content=_SIMPLE_SCRIPT),
    "scriptExecutable": Definition("scriptExecutable", content=_SIMPLE_SCRIPT),
    "nativeExecutable": Definition("nativeExecutable", content=(one("staticCommand", minimum=1),)),
    "staticCommand": Definition("staticCommand", {"value": REQUIRED},
                                (one("arguments", "commandArguments"),)),
    "commandArguments": Definition("commandArguments", content=(one("argument", "valueOnly", minimum=1, maximum=None),)),
    "javaExecutable": Definition("javaExecutable", {"class": Attribute(True, CLASS_OR_VARIABLE)},
                                 (one("parameters", "javaParameters"),)),
    "javaParameters": Definition("javaParameters", content=(one("parameter", "javaParameter", minimum=1, maximum=None),)),
    "javaParameter": Definition("javaParameter", {"name": REQUIRED, "value": REQUIRED}),
    "flow": Definition("flow", {"block": Attribute(type=BLOCK)},
                       (choice(("if", "actionIf"), ("replicate", "actionReplicate"), ("loop", "actionLoop"),
                               minimum=0),)),
    "actionIf": Definition("actionIf", {"target": REQUIRED, "else": REQUIRED, "continuation": OPTIONAL},
                           _SIMPLE_SCRIPT),
    "actionLoop": Definition("actionLoop", {"target": REQUIRED}, _SIMPLE_SCRIPT),
    "actionReplicate": Definition("actionReplicate", content=_SIMPLE_SCRIPT),
}
ROOT = ("job", "job")  # (tag, definition) of the document element
XSI_SCHEMA_LOCATION = ("http://www.w3.org/2001/XMLSchema-instance", "schemaLocation")  # allowed on <job>


def child_order(definition: str) -> Tuple[Tuple[str, ...], ...]:
    """The tags of an element's children, slot by slot, in the order its definition requires
    (a slot holding a choice gives every tag of it): where a new child goes."""
    return tuple(tuple(tag for tag, _ in slot.choices) for slot in DEFINITIONS[definition].content)
