"""The workflow model: ProActive job XML (jobdescriptor 3.x) parsed once, with positions.

Every tool that reads a workflow reads it through this module — ``psa validate`` (the
linter), ``psa bundle`` (bucket retargeting), ``psa run`` (the local scheduler) and
``psa graph`` — so they agree on what a workflow says.

API (stable: the linter builds on it)
-------------------------------------
``parse_workflow(path) -> Workflow`` / ``parse_workflow_bytes(data, source) -> Workflow``
    Parse a file or bytes. Bad XML raises ``WorkflowError`` (an ``InputError``) whose
    ``line``/``column`` say where and whose message starts ``file:line:col:``. Any root
    element is accepted (``Workflow.is_job`` says whether it is ``<job>``); the typed view
    (``Workflow.job``) is ``None`` for a non-job document. The namespace is any
    ``urn:proactive:jobdescriptor:3.x`` (or none); ``Workflow.schema_version`` gives ``"3.14"``...

The raw tree (``XmlElement``, ``XmlAttribute``) keeps everything the document holds, in
document order: local tag name, namespace URI, attributes in source order, children,
direct text, and for each element and each attribute its ``line`` and ``column``
(1-based, in characters) and ``offset`` (in the decoded text). ``XmlAttribute`` also
has ``value_offset``/``value_end`` (the span of the raw value between the quotes), so a
tool can rewrite one value and leave every other byte alone (``replace_spans``).
What the jobdescriptor schema allows is not this module's: ``jobdescriptor.py`` restates it
and ``schema.py`` checks a workflow against it.

The typed view: frozen dataclasses, each holding the ``element`` it was read from (so
``.line``/``.column`` and ``element.attribute("x")`` positions are always at hand):
- ``Job``: ``name``, ``variables`` (``Variable``: name, value, model, description, group,
  advanced, hidden, inherited), ``generic_information`` (``Info``: name, value),
  ``description``, ``tasks``; ``job.variable("X")``, ``job.info("X")``, ``job.gi`` (a dict),
  ``job.task("T")``, ``job.scripts()`` (every ``ScriptRef`` of every task, in order).
- ``Task``: ``name``, ``fork`` (``None`` when absent), ``depends`` (names, in order),
  ``description``, ``variables``, ``generic_information``, the script slots ``selection``
  (a tuple: a task may have several), ``pre``, ``executable`` (``None`` unless a
  ``<scriptExecutable>``; ``executable_kind`` names the executable element), ``post``,
  ``cleaning``, and ``flow`` (``ControlFlow``: ``block``, ``loop``/``if_``/``replicate``,
  each with its ``script``; ``Loop.target``, ``If.target``/``else_``/``continuation``).
  ``task.scripts()`` yields the present scripts in the scheduler's order: selection, pre,
  executable, post, flow, cleaning.
- ``ScriptRef``: ``slot`` (one of ``SLOTS``), ``code`` (inline text) or ``url`` / ``path``,
  ``language``, ``arguments`` (tuple of str; ``argument_elements`` for positions),
  ``script_type`` (selection: static/dynamic), ``code_line`` (line of the first character
  of inline code), ``catalog`` (a ``CatalogRef(bucket, name)`` when the URL is a Catalog
  object's raw URL), and ``element`` (``<script>``) / ``source`` (``<code>`` or ``<file>``).

``catalog_ref(url)`` and ``catalog_url(bucket, name)`` are the one place that knows the shape
of a Catalog raw URL; ``retarget(document, old_buckets, new_bucket)`` moves a workflow's script
URLs to another bucket by rewriting exactly those attribute values (given the file's bytes, it
gives bytes back in the file's own encoding).

The reader refuses (``WorkflowError``, which ``psa validate`` reports as PA100) a DOCTYPE — so
any entity declaration: ProActive workflows have none, and no entity is ever expanded — and
elements nested deeper than ``MAX_DEPTH``. It honours the encoding the XML declaration names.
Positions are computed in one pass (each byte decoded once): reading is linear in the file.
Standard library only (expat, with the byte index of each start tag, mapped to line/column).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import AnyStr, Dict, Iterable, Iterator, List, Optional, Tuple, Union
from xml.parsers import expat

from ..errors import InputError

NAMESPACE_PREFIX = "urn:proactive:jobdescriptor:"
_NAMESPACE = re.compile(r"^urn:proactive:jobdescriptor:(3\.\d+|dev)$")
_CATALOG_URL = re.compile(r"/buckets/([^/?#]+)/resources/([^/?#]+)/raw/?(?:[?#].*)?$")
CATALOG_URL_VARIABLE = "${PA_CATALOG_REST_URL}"

# The script slots, the element holding each, and the catalog kind of a script for it.
# In the order the scheduler runs them (ProActive's InProcessTaskExecutor): selection on the
# node's JVM, then pre, executable, post; the flow script after them even when one failed
# (it sees PA_TASK_SUCCESS); the cleaning script last, whatever happened.
SLOTS = ("selection", "pre", "executable", "post", "flow", "cleaning")
SLOT_ELEMENTS = {"selection": "selection", "pre": "pre", "executable": "scriptExecutable",
                 "post": "post", "flow": "controlFlow", "cleaning": "cleaning"}
SLOT_KINDS = {"selection": "Script/selection", "pre": "Script/pre", "executable": "Script/task",
              "post": "Script/post", "flow": "Script/flow", "cleaning": "Script/clean"}


class WorkflowError(InputError):
    """A workflow file cannot be read or is not well-formed XML (says file:line:col)."""

    def __init__(self, source: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{source}:{line}:{column}: {message}")
        self.source, self.line, self.column, self.reason = source, line, column, message


# --- the raw tree ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class XmlAttribute:
    name: str  # local name; a namespaced attribute keeps its URI in ``namespace``
    value: str  # as parsed (entities resolved)
    line: int
    column: int
    offset: int  # of the name, in the decoded text
    value_offset: int  # first character of the raw value (after the quote)
    value_end: int  # the closing quote
    namespace: str = ""


@dataclass(frozen=True)
class XmlElement:
    tag: str  # local name
    namespace: str
    line: int
    column: int
    offset: int  # of the '<'
    attributes: Tuple[XmlAttribute, ...] = ()
    children: Tuple["XmlElement", ...] = ()
    text: str = ""  # the direct character data (text and CDATA), children's text excluded
    text_line: int = 0  # line of the first character of ``text`` (0: no text)
    end_line: int = 0

    def attribute(self, name: str) -> Optional[XmlAttribute]:
        return next((a for a in self.attributes if a.name == name and not a.namespace), None)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        found = self.attribute(name)
        return found.value if found is not None else default

    def find(self, path: str) -> Optional["XmlElement"]:
        """The first element at ``path`` (child tags joined by ``/``), or None."""
        return next(iter(self.findall(path)), None)

    def findall(self, path: str) -> Tuple["XmlElement", ...]:
        """The elements at ``path`` (child tags joined by ``/``), in document order."""
        found: Tuple[XmlElement, ...] = (self,)
        for tag in path.split("/"):
            found = tuple(c for element in found for c in element.children if c.tag == tag)
        return found

    def iter(self, tag: Optional[str] = None) -> Iterator["XmlElement"]:
        """This element and its descendants, in document order."""
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            yield from child.iter(tag)


# How deep elements may nest. ProActive workflows nest a dozen levels at most (job, taskFlow,
# task, forkEnvironment, envScript, script, file, arguments, argument); a bound keeps a hostile
# or broken file from exhausting the stack of every tool that walks the tree.
MAX_DEPTH = 100


class _Refused(Exception):
    """Raised from an expat callback: the document holds something a workflow never holds."""

    def __init__(self, byte_index: int, message: str) -> None:
        super().__init__(message)
        self.byte_index, self.message = byte_index, message


class _Positions:
    """Maps UTF-8 byte indexes of the parsed text to (line, column, character offset).

    Expat reports byte indexes in increasing order, so the character offset is advanced from
    the last index asked, decoding each byte once: the whole parse stays linear in the size
    of the file (``decoded_bytes`` counts the bytes decoded, for the tests to check that)."""

    def __init__(self, text: str, data: bytes) -> None:
        self.data = data
        self.ascii = len(text) == len(data)
        self.line_bytes = [0] + [m.end() for m in re.finditer(b"\n", data)]
        self.line_chars = [0] + [m.end() for m in re.finditer("\n", text)]
        self.byte_index = self.char_offset = 0
        self.decoded_bytes = 0

    def offset(self, byte_index: int) -> int:
        """The character offset of ``byte_index``."""
        if self.ascii:
            return byte_index
        if byte_index < self.byte_index:  # never for expat's events; kept correct all the same
            self.byte_index = self.char_offset = 0
        chunk = self.data[self.byte_index:byte_index]
        self.decoded_bytes += len(chunk)
        self.char_offset += len(chunk.decode("utf-8", "replace"))
        self.byte_index = byte_index
        return self.char_offset

    def __call__(self, byte_index: int) -> Tuple[int, int, int]:
        line = bisect.bisect_right(self.line_bytes, byte_index)
        offset = self.offset(byte_index)
        return line, offset - self.line_chars[line - 1] + 1, offset


class _Builder:
    """Expat callbacks building XmlElements; positions from the byte index of each event.

    A DOCTYPE (and so any entity declaration) is refused before expat reads its content:
    no entity is ever expanded. Elements deeper than ``MAX_DEPTH`` are refused too."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8")
        self.position = _Positions(text, self.data)
        self.stack: List[dict] = [{"children": []}]
        self.parser = expat.ParserCreate(encoding="UTF-8", namespace_separator=" ")
        self.parser.ordered_attributes = True
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.characters
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.entity

    def doctype(self, name: str, *_: object) -> None:
        start = self.data.rfind(b"<!DOCTYPE", 0, self.parser.CurrentByteIndex + 1)
        raise _Refused(max(start, 0), "a DOCTYPE declaration: ProActive workflows have none "
                       "(entities it could declare are not expanded)")

    def entity(self, name: str, *_: object) -> None:
        raise _Refused(self.parser.CurrentByteIndex, f"an entity declaration ({name}): ProActive workflows have none")

    def start(self, name: str, attributes: List[str]) -> None:
        namespace, tag = _split(name)
        index = self.parser.CurrentByteIndex
        if len(self.stack) > MAX_DEPTH:
            raise _Refused(index, f"elements nested more than {MAX_DEPTH} deep (at <{tag}>)")
        line, column, offset = self.position(index)
        spans = _attribute_spans(self.data, index)
        parsed = []
        for position in range(0, len(attributes), 2):
            attr_namespace, attr_name = _split(attributes[position])
            # A default attribute of a DTD has no place in the text: it gets the element's.
            name_at, value_at, value_end = (spans[position // 2][1] if position // 2 < len(spans)
                                            else (index, index, index))
            a_line, a_column, a_offset = self.position(name_at)
            parsed.append(XmlAttribute(attr_name, attributes[position + 1], a_line, a_column, a_offset,
                                       self.position.offset(value_at), self.position.offset(value_end),
                                       attr_namespace))
        self.stack.append({"tag": tag, "namespace": namespace, "line": line, "column": column,
                           "offset": offset, "attributes": tuple(parsed), "children": [],
                           "text": [], "text_line": 0})

    def characters(self, data: str) -> None:
        frame = self.stack[-1]
        if "text" not in frame:
            return
        if not frame["text"] and data.strip():
            frame["text_line"] = self.parser.CurrentLineNumber
        if frame["text"] or data.strip():
            frame["text"].append(data)

    def end(self, name: str) -> None:
        frame = self.stack.pop()
        element = XmlElement(frame["tag"], frame["namespace"], frame["line"], frame["column"], frame["offset"],
                             frame["attributes"], tuple(frame["children"]), "".join(frame["text"]),
                             frame["text_line"], self.parser.CurrentLineNumber)
        self.stack[-1]["children"].append(element)

    def parse(self) -> XmlElement:
        self.parser.Parse(self.data, True)
        return self.stack[0]["children"][0]


def _split(name: str) -> Tuple[str, str]:
    namespace, _, local = name.rpartition(" ")
    return namespace, local


_NAME_END = frozenset(b" \t\r\n=/>")
_SPACE = frozenset(b" \t\r\n")


def _attribute_spans(data: bytes, start: int) -> List[Tuple[bytes, Tuple[int, int, int]]]:
    """The attributes of the start tag at byte ``start``, in source order, namespace
    declarations left out (expat does not report them): (raw name, (name index, value
    index, closing quote index)). The tag is well-formed (expat accepted it), so a small
    scanner suffices."""
    spans = []
    index = start + 1
    while data[index] not in _NAME_END:
        index += 1
    while True:
        while data[index] in _SPACE:
            index += 1
        if data[index] in b"/>":
            return spans
        name_at = index
        while data[index] not in _NAME_END:
            index += 1
        raw_name = data[name_at:index]
        index = data.index(b"=", index) + 1
        while data[index] in _SPACE:
            index += 1
        quote = data[index:index + 1]
        value_end = data.index(quote, index + 1)
        if raw_name != b"xmlns" and not raw_name.startswith(b"xmlns:"):
            spans.append((raw_name, (name_at, index + 1, value_end)))
        index = value_end + 1


_ENCODING_DECLARATION = re.compile(rb"""^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


# A byte-order mark names the encoding, and is kept apart from the text (written back as it was).
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


@dataclass(frozen=True)
class Decoded:
    """A document's text and how to write it back as the same bytes (its BOM, its encoding)."""

    text: str
    encoding: str
    bom: bytes = b""

    def encode(self, text: str) -> bytes:
        return self.bom + text.encode(self.encoding)


def decode_document(data: bytes, source: str) -> Decoded:
    """``data`` decoded as its BOM, else its XML declaration, else UTF-8 says (WorkflowError when it
    cannot be): the one reading of a workflow file's encoding, for every command."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            bom, body = mark, data[len(mark):]
            break
    else:
        declared = _ENCODING_DECLARATION.match(data)
        encoding, bom, body = (declared.group(1).decode("ascii") if declared else "utf-8"), b"", data
    try:
        return Decoded(body.decode(encoding), encoding, bom)
    except (LookupError, UnicodeDecodeError) as error:
        raise WorkflowError(source, 1, 1, f"cannot decode the file as {encoding}: {error}") from None


def parse_tree(data: bytes, source: str = "<workflow>") -> Tuple[str, XmlElement]:
    """The decoded text and the root element of an XML document (in its declared encoding)."""
    text = decode_document(data, source).text
    return text, _parse_text(text, source)


def _parse_text(text: str, source: str) -> XmlElement:
    builder = _Builder(text)
    try:
        return builder.parse()
    except _Refused as refused:
        line, column, _ = _Positions(text, builder.data)(refused.byte_index)
        raise WorkflowError(source, line, column, f"refused: {refused.message}") from None
    except expat.ExpatError as error:
        line = error.lineno
        start = builder.position.line_bytes[line - 1] if line - 1 < len(builder.position.line_bytes) else 0
        column = len(builder.data[start:start + error.offset].decode("utf-8", "replace")) + 1
        raise WorkflowError(source, line, column,
                            f"not well-formed XML: {expat.ErrorString(error.code)}") from None


# --- the typed view ---------------------------------------------------------------------------------
class _Located:
    element: XmlElement

    @property
    def line(self) -> int:
        return self.element.line

    @property
    def column(self) -> int:
        return self.element.column


@dataclass(frozen=True)
class CatalogRef:
    bucket: str
    name: str


def catalog_ref(url: Optional[str]) -> Optional[CatalogRef]:
    """(bucket, object name) when ``url`` is a Catalog object's raw URL
    (``.../buckets/<bucket>/resources/<name>/raw``), else None."""
    match = _CATALOG_URL.search(url or "")
    return CatalogRef(match.group(1), match.group(2)) if match else None


def catalog_url(bucket: str, name: str, base: str = CATALOG_URL_VARIABLE) -> str:
    """The raw URL of a Catalog object, as workflows write it."""
    return f"{base.rstrip('/')}/buckets/{bucket}/resources/{name}/raw"


@dataclass(frozen=True)
class Variable(_Located):
    name: str
    value: str
    element: XmlElement = field(repr=False, compare=False)
    model: Optional[str] = None
    description: Optional[str] = None
    group: Optional[str] = None
    advanced: Optional[str] = None
    hidden: Optional[str] = None
    inherited: Optional[str] = None  # task variables only


@dataclass(frozen=True)
class Info(_Located):
    """One generic information entry."""

    name: str
    value: str
    element: XmlElement = field(repr=False, compare=False)


@dataclass(frozen=True)
class ScriptRef(_Located):
    """A script in one slot of a task: inline code, or a file by URL or path."""

    slot: str
    element: XmlElement = field(repr=False, compare=False)  # <script>
    source: Optional[XmlElement] = field(default=None, repr=False, compare=False)  # <code> | <file>
    code: Optional[str] = None
    url: Optional[str] = None
    path: Optional[str] = None
    language: Optional[str] = None
    arguments: Tuple[str, ...] = ()
    argument_elements: Tuple[XmlElement, ...] = field(default=(), repr=False, compare=False)
    script_type: Optional[str] = None
    code_line: int = 0

    @property
    def catalog(self) -> Optional[CatalogRef]:
        return catalog_ref(self.url)

    @property
    def label(self) -> str:
        """What a person calls this script: the catalog object, the file, or "inline"."""
        if self.catalog is not None:
            return self.catalog.name
        return self.url or self.path or f"inline {self.language or 'script'}"


@dataclass(frozen=True)
class Loop(_Located):
    target: str
    script: Optional[ScriptRef]
    element: XmlElement = field(repr=False, compare=False)


@dataclass(frozen=True)
class If(_Located):
    target: str
    else_: str
    continuation: Optional[str]
    script: Optional[ScriptRef]
    element: XmlElement = field(repr=False, compare=False)


@dataclass(frozen=True)
class Replicate(_Located):
    script: Optional[ScriptRef]
    element: XmlElement = field(repr=False, compare=False)


@dataclass(frozen=True)
class ControlFlow(_Located):
    element: XmlElement = field(repr=False, compare=False)
    block: Optional[str] = None
    loop: Optional[Loop] = None
    if_: Optional[If] = None
    replicate: Optional[Replicate] = None

    @property
    def script(self) -> Optional[ScriptRef]:
        action = self.loop or self.if_ or self.replicate
        return action.script if action is not None else None


class _Scoped(_Located):
    """Variables and generic information, as a job and a task hold them."""

    variables: Tuple[Variable, ...]
    generic_information: Tuple[Info, ...]

    @property
    def gi(self) -> Dict[str, str]:
        return {i.name: i.value for i in self.generic_information}

    def info(self, name: str) -> Optional[Info]:
        return next((i for i in self.generic_information if i.name == name), None)

    def variable(self, name: str) -> Optional[Variable]:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class Task(_Scoped):
    name: str
    element: XmlElement = field(repr=False, compare=False)
    fork: Optional[str] = None
    description: Optional[str] = None
    depends: Tuple[str, ...] = ()
    variables: Tuple[Variable, ...] = ()
    generic_information: Tuple[Info, ...] = ()
    selection: Tuple[ScriptRef, ...] = ()
    pre: Optional[ScriptRef] = None
    executable: Optional[ScriptRef] = None
    executable_kind: Optional[str] = None  # scriptExecutable | nativeExecutable | javaExecutable
    post: Optional[ScriptRef] = None
    cleaning: Optional[ScriptRef] = None
    flow: Optional[ControlFlow] = None

    def scripts(self) -> Iterator[ScriptRef]:
        """Every script of the task, in the order the scheduler runs the slots."""
        yield from self.selection
        for script in (self.pre, self.executable, self.post, self.flow.script if self.flow else None,
                       self.cleaning):
            if script is not None:
                yield script


@dataclass(frozen=True)
class Job(_Scoped):
    name: str
    element: XmlElement = field(repr=False, compare=False)
    variables: Tuple[Variable, ...] = ()
    generic_information: Tuple[Info, ...] = ()
    description: Optional[str] = None
    tasks: Tuple[Task, ...] = ()

    def task(self, name: str) -> Optional[Task]:
        return next((t for t in self.tasks if t.name == name), None)

    def scripts(self) -> Iterator[Tuple[Task, ScriptRef]]:
        for task in self.tasks:
            for script in task.scripts():
                yield task, script


@dataclass(frozen=True)
class Workflow:
    """A parsed workflow file: its source, text, raw tree and (for a ``<job>``) typed view."""

    source: str
    text: str = field(repr=False)
    root: XmlElement = field(repr=False)
    job: Optional[Job] = None

    @property
    def is_job(self) -> bool:
        return self.root.tag == "job"

    @property
    def namespace(self) -> str:
        return self.root.namespace

    @property
    def schema_version(self) -> Optional[str]:
        """``3.14`` for ``urn:proactive:jobdescriptor:3.14``; None without a known namespace."""
        match = _NAMESPACE.match(self.root.namespace)
        return match.group(1) if match else None


# --- reading the typed view from the tree ---------------------------------------------------------------
def _text(element: Optional[XmlElement]) -> Optional[str]:
    return element.text.strip() if element is not None else None


def _variables(holder: Optional[XmlElement]) -> Tuple[Variable, ...]:
    if holder is None:
        return ()
    return tuple(Variable(v.get("name", ""), v.get("value", ""), v, v.get("model"), v.get("description"),
                          v.get("group"), v.get("advanced"), v.get("hidden"), v.get("inherited"))
                 for v in holder.findall("variable"))


def _infos(holder: Optional[XmlElement]) -> Tuple[Info, ...]:
    if holder is None:
        return ()
    return tuple(Info(i.get("name", ""), i.get("value", ""), i) for i in holder.findall("info"))


def _script(slot: str, script: Optional[XmlElement]) -> Optional[ScriptRef]:
    if script is None:
        return None
    code, file = script.find("code"), script.find("file")
    holder = file if file is not None else script  # arguments: in <file>, or beside <code>
    arguments = tuple(a for group in holder.findall("arguments") for a in group.findall("argument"))
    common = dict(slot=slot, element=script, arguments=tuple(a.get("value", "") for a in arguments),
                  argument_elements=arguments, script_type=script.get("type"))
    if code is not None:
        return ScriptRef(source=code, code=code.text, language=code.get("language"),
                         code_line=code.text_line or code.line, **common)
    if file is not None:
        return ScriptRef(source=file, url=file.get("url"), path=file.get("path"),
                         language=file.get("language"), **common)
    return ScriptRef(**common)


def _slot_script(slot: str, holder: Optional[XmlElement]) -> Optional[ScriptRef]:
    return _script(slot, holder.find("script")) if holder is not None else None


def _control_flow(holder: Optional[XmlElement]) -> Optional[ControlFlow]:
    if holder is None:
        return None
    loop, branch, replicate = holder.find("loop"), holder.find("if"), holder.find("replicate")
    return ControlFlow(
        holder, holder.get("block"),
        Loop(loop.get("target", ""), _slot_script("flow", loop), loop) if loop is not None else None,
        If(branch.get("target", ""), branch.get("else", ""), branch.get("continuation"),
           _slot_script("flow", branch), branch) if branch is not None else None,
        Replicate(_slot_script("flow", replicate), replicate) if replicate is not None else None)


_EXECUTABLES = ("scriptExecutable", "nativeExecutable", "javaExecutable")


def _task(element: XmlElement) -> Task:
    executable = next((c for c in element.children if c.tag in _EXECUTABLES), None)
    selection = element.find("selection")
    return Task(
        name=element.get("name", ""), element=element, fork=element.get("fork"),
        description=_text(element.find("description")),
        depends=tuple(d.get("ref", "") for group in element.findall("depends") for d in group.findall("task")),
        variables=_variables(element.find("variables")),
        generic_information=_infos(element.find("genericInformation")),
        selection=tuple(s for s in (_script("selection", e) for e in (selection.findall("script")
                                                                       if selection is not None else ())) if s),
        pre=_slot_script("pre", element.find("pre")),
        executable=_slot_script("executable", executable) if executable is not None
        and executable.tag == "scriptExecutable" else None,
        executable_kind=executable.tag if executable is not None else None,
        post=_slot_script("post", element.find("post")),
        cleaning=_slot_script("cleaning", element.find("cleaning")),
        flow=_control_flow(element.find("controlFlow")))


def _job(root: XmlElement) -> Job:
    flow = root.find("taskFlow")
    return Job(name=root.get("name", ""), element=root, variables=_variables(root.find("variables")),
               generic_information=_infos(root.find("genericInformation")),
               description=_text(root.find("description")),
               tasks=tuple(_task(t) for t in (flow.findall("task") if flow is not None else ())))


def parse_workflow_bytes(data: bytes, source: str = "<workflow>") -> Workflow:
    """Parse a workflow document; WorkflowError (file:line:col) when it is not well-formed."""
    text, root = parse_tree(data, source)
    return Workflow(source, text, root, _job(root) if root.tag == "job" else None)


def parse_workflow(path: Union[str, Path]) -> Workflow:
    """Parse the workflow file at ``path``; WorkflowError when unreadable or not well-formed."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise WorkflowError(str(path), 1, 1, f"cannot read the file: {error.strerror or error}") from None
    return parse_workflow_bytes(data, str(path))


# --- editing values in place -----------------------------------------------------------------------------
def replace_spans(text: str, changes: Iterable[Tuple[int, int, str]]) -> str:
    """``text`` with each (start, end, new) span replaced; spans must not overlap."""
    out, last = [], 0
    for start, end, new in sorted(changes):
        out += [text[last:start], new]
        last = end
    return "".join(out) + text[last:]


def retarget(document: AnyStr, old_buckets: Iterable[str], new_bucket: str, source: str = "<workflow>") -> AnyStr:
    """``document`` (a workflow, as text or as the file's bytes) with the script URLs into
    ``old_buckets`` moved to ``new_bucket``; only those attribute values change, every other
    character stays. Bytes come back in the document's own encoding (its declaration, its BOM)."""
    if isinstance(document, bytes):
        decoded = decode_document(document, source)
        return decoded.encode(_retarget_text(decoded.text, old_buckets, new_bucket, source))
    return _retarget_text(document, old_buckets, new_bucket, source)


def _retarget_text(text: str, old_buckets: Iterable[str], new_bucket: str, source: str) -> str:
    old = set(old_buckets) - {new_bucket}
    changes = []
    for element in _parse_text(text, source).iter("file"):
        url = element.attribute("url")
        found = catalog_ref(url.value) if url is not None else None
        if found is None or found.bucket not in old:
            continue
        raw = text[url.value_offset:url.value_end]
        marker = f"/buckets/{found.bucket}/resources/"
        changes.append((url.value_offset, url.value_end,
                        raw.replace(marker, f"/buckets/{new_bucket}/resources/")))
    return replace_spans(text, changes)
