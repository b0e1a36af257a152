"""Edits of a workflow's text at the positions the workflow model reports, never a re-serialization.

``psa migrate`` changes a few attribute values and inserts a few script elements; every other
character of the file stays as it was (comments, CDATA, entity references, attribute order and
quotes, indentation, line ends). An edit is a span of the decoded text and its replacement;
``apply`` makes them (``psa_scripts.workflow.model.replace_spans``, insertions at one place in the
order they were made). Inserted elements take the
indentation, the line end and the namespace prefix of the element they go into.

``encoded`` writes the edited text back in the file's own encoding (and byte-order mark), and
refuses when the untouched text would not come back byte for byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

from ..errors import InputError
from ..workflow.model import WorkflowError, XmlAttribute, XmlElement, decode_document, replace_spans

Order = Sequence[Union[str, Tuple[str, ...]]]


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` by ``new``."""

    start: int
    end: int
    new: str


def apply(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with ``edits`` made; insertions at one place keep the order they were made in
    (a post script, then a cleaning script, both before ``<metadata>``)."""
    merged: Dict[Tuple[int, int], str] = {}
    for edit in edits:
        merged[(edit.start, edit.end)] = merged.get((edit.start, edit.end), "") + edit.new
    return replace_spans(text, ((start, end, new) for (start, end), new in merged.items()))


def set_value(attribute: XmlAttribute, value: str) -> Edit:
    """The attribute's raw value (between its quotes) becomes ``value`` (already escaped)."""
    return Edit(attribute.value_offset, attribute.value_end, value)


def add_attribute_after(attribute: XmlAttribute, name: str, value: str, text: str) -> Edit:
    """A new attribute right after ``attribute`` (same quote character)."""
    quote = text[attribute.value_end]
    at = attribute.value_end + 1
    return Edit(at, at, f" {name}={quote}{value}{quote}")


def newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _indent_before(text: str, offset: int) -> Optional[str]:
    """The whitespace from the start of the line to ``offset``, or None when text stands there."""
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    prefix = text[start:offset]
    return prefix if not prefix.strip() else None


def _raw_name(text: str, element: XmlElement) -> str:
    """The element's name as written (with its namespace prefix, if any)."""
    match = re.compile(r"<([^\s/>]+)").match(text, element.offset)
    return match.group(1) if match else element.tag


def prefix_of(text: str, element: XmlElement) -> str:
    """``pa:`` when the element is written ``<pa:task>``, else empty."""
    name = _raw_name(text, element)
    return name[: name.index(":") + 1] if ":" in name else ""


def _rank(order: Order, tag: str) -> int:
    for index, entry in enumerate(order):
        if tag == entry or (isinstance(entry, tuple) and tag in entry):
            return index
    return len(order)


def _end_tag(text: str, element: XmlElement) -> int:
    """The offset of ``</name>`` closing ``element`` (not self-closing: it has children):
    searched from its last child, on or after the line the model says it ends on."""
    line_start = 0
    for _ in range(max(element.end_line - 1, 0)):
        line_start = text.index("\n", line_start) + 1
    start = max(element.children[-1].offset, line_start)
    match = re.compile(rf"</{re.escape(_raw_name(text, element))}\s*>").search(text, start)
    if match is None:
        raise InputError(f"line {element.line}: cannot find the end of <{element.tag}>")
    return match.start()


@dataclass(frozen=True)
class Block:
    """An element to insert, as nested lines: (depth, text) pairs, depth 0 its own tags."""

    tag: str
    lines: Tuple[Tuple[int, str], ...]


def _indents(text: str, parent: XmlElement) -> Tuple[str, str]:
    """(the indentation of ``parent``'s children, one step of indentation), as the file has them."""
    parent_indent = _indent_before(text, parent.offset) or ""
    sibling_indent = _indent_before(text, parent.children[0].offset)
    if sibling_indent is None or not sibling_indent.startswith(parent_indent) or sibling_indent == parent_indent:
        sibling_indent = parent_indent + "  "
    return sibling_indent, sibling_indent[len(parent_indent):]


def _render(text: str, block: Block, indent: str, step: str) -> str:
    """The block's lines joined by the file's line end; the first line not indented (it goes
    where the indentation already is)."""
    return newline(text).join((indent + step * depth if number else "") + line
                              for number, (depth, line) in enumerate(block.lines))


def insert_before(text: str, sibling: XmlElement, block: Block, step: str) -> Edit:
    """Insert ``block`` just before ``sibling``, at its indentation, on lines of its own."""
    here = _indent_before(text, sibling.offset)
    rendered = _render(text, block, here or "", step)
    return Edit(sibling.offset, sibling.offset, rendered + (newline(text) + here if here is not None else ""))


def step_of(text: str, parent: XmlElement) -> str:
    """One step of the file's indentation, read on ``parent`` and its children."""
    return _indents(text, parent)[1]


def insert_child(text: str, parent: XmlElement, block: Block, order: Order) -> Edit:
    """Insert ``block`` in ``parent`` (an element with children) where ``order`` (the schema's
    order of its children) puts it, indented like its siblings."""
    nl = newline(text)
    rank = _rank(order, block.tag)
    following = next((child for child in parent.children if _rank(order, child.tag) > rank), None)
    sibling_indent, step = _indents(text, parent)
    if following is not None:
        return insert_before(text, following, block, step)
    rendered = _render(text, block, sibling_indent, step)
    end = _end_tag(text, parent)
    here = _indent_before(text, end)
    if here is None:
        return Edit(end, end, rendered)
    return Edit(end, end, sibling_indent[len(here):] + rendered + nl + here)


def _nested(depth: int, lines: Sequence[Tuple[int, str]]) -> Tuple[Tuple[int, str], ...]:
    return tuple((depth + level, line) for level, line in lines)


def script_block(prefix: str, slot_tag: str, url: str, arguments: Sequence[str] = ()) -> Block:
    """``<slot><script><file url=... language="cpython">[arguments]</file></script></slot>``."""
    p = prefix
    file_open = f'<{p}file url="{url}" language="cpython"'
    if arguments:
        inner = ((2, file_open + ">"), (3, f"<{p}arguments>"),
                 *((4, f'<{p}argument value="{value}"/>') for value in arguments),
                 (3, f"</{p}arguments>"), (2, f"</{p}file>"))
    else:
        inner = ((2, file_open + "/>"),)
    return Block(slot_tag, ((0, f"<{p}{slot_tag}>"), (1, f"<{p}script>"), *inner, (1, f"</{p}script>"),
                            (0, f"</{p}{slot_tag}>")))


def task_block(prefix: str, name: str, executable: Block) -> Block:
    """``<task name=... fork="true">`` holding ``executable`` (a ``scriptExecutable`` block)."""
    p = prefix
    return Block("task", ((0, f'<{p}task name="{name}" fork="true">'), *_nested(1, executable.lines),
                          (0, f"</{p}task>")))


def depends_block(prefix: str, task: str) -> Block:
    """``<depends><task ref=.../></depends>``."""
    p = prefix
    return Block("depends", ((0, f"<{p}depends>"), (1, f'<{p}task ref="{task}"/>'), (0, f"</{p}depends>")))


def encoded(original: bytes, text: str, edited: str, source: str) -> bytes:
    """``edited`` in the encoding of ``original`` (whose decoded text is ``text``; read as the
    workflow model reads every file); InputError when ``text`` does not encode back to
    ``original`` exactly (nothing could be kept byte for byte)."""
    encoding = "its declared one"
    try:
        decoded = decode_document(original, source)
        encoding = decoded.encoding
        if decoded.encode(text) != original:
            raise ValueError
        return decoded.encode(edited)
    except (LookupError, ValueError, UnicodeError, WorkflowError):
        raise InputError(f"{source}: cannot rewrite it byte for byte in its encoding ({encoding}): "
                         "save it as UTF-8 and migrate again") from None
