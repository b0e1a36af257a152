"""The files a deployment or action task leaves in its localspace for the post script.

``<INSTANCE_NAME>_port``, ``<INSTANCE_NAME>_containerID`` and ``<INSTANCE_NAME>_status``:
the contract between the task that drives the engine and the script that reports to PSA.
Writes are atomic (temp file then rename), so a reader never sees half a value.
"""

from __future__ import annotations

import os

from . import names
from .numbers import whole_number
from .errors import InputError


def path(workdir: str, instance_name: str, suffix: str) -> str:
    return os.path.join(workdir, instance_name + suffix)


def read_text(workdir: str, file_name: str) -> "str | None":
    """The text of localspace file ``file_name``, None when there is none; an InputError naming
    the file when it is not UTF-8 (the task before the script wrote it, in any encoding)."""
    try:
        with open(os.path.join(workdir, file_name), encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as error:
        raise InputError(
            f"file {file_name} in {workdir} is not UTF-8 text (byte "
            f"0x{error.object[error.start]:02x} at offset {error.start}): the task before this "
            "script must write it as UTF-8"
        ) from None


def read(workdir: str, instance_name: str, suffix: str, *, required: bool = True) -> "str | None":
    """The stripped content of ``<name><suffix>``; a clear error when missing or empty."""
    content = read_text(workdir, instance_name + suffix)
    if content is None:
        if not required:
            return None
        raise InputError(
            f"file {instance_name + suffix} is missing in {workdir}: "
            "the task before this script must write it"
        )
    content = content.strip()
    if not content:
        if not required:
            return None
        raise InputError(f"file {instance_name + suffix} in {workdir} is empty")
    return content


def write(workdir: str, instance_name: str, suffix: str, content: str) -> str:
    file_path = path(workdir, instance_name, suffix)
    temp_path = f"{file_path}.tmp{os.getpid()}"
    with open(temp_path, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.replace(temp_path, file_path)
    return file_path


def read_port(workdir: str, instance_name: str, *, required: bool = True) -> "int | None":
    text = read(workdir, instance_name, names.PORT_FILE_SUFFIX, required=required)
    if text is None:
        return None
    port = whole_number(text)
    if port is None or not 0 < port < 65536:
        raise InputError(
            f"file {instance_name + names.PORT_FILE_SUFFIX} must hold a port number (1-65535), got {text!r}"
        )
    return port


def read_container_id(workdir: str, instance_name: str) -> str:
    """The container id, or '' when the file is missing or empty (the container did not start)."""
    return read(workdir, instance_name, names.CONTAINER_ID_FILE_SUFFIX, required=False) or ""


def read_status(workdir: str, instance_name: str) -> str:
    return read(workdir, instance_name, names.STATUS_FILE_SUFFIX)


def write_port(workdir: str, instance_name: str, port: int) -> str:
    return write(workdir, instance_name, names.PORT_FILE_SUFFIX, str(int(port)))


def write_container_id(workdir: str, instance_name: str, container_id: str) -> str:
    return write(workdir, instance_name, names.CONTAINER_ID_FILE_SUFFIX, container_id)


def write_status(workdir: str, instance_name: str, status: str) -> str:
    return write(workdir, instance_name, names.STATUS_FILE_SUFFIX, status)


def already_removed_text(instance_name: str) -> str:
    """The status text an action writes when the container was already gone."""
    return names.ALREADY_REMOVED_PREFIX + instance_name


def read_clean_status(file_path: str) -> "list[str]":
    """The entries of a clean-status file: ``ok`` or ``ko`` per clean step, ``|``-separated
    (``|ok|ok|ko``); blank entries are skipped. InputError when missing or without any entry."""
    try:
        with open(file_path, encoding="utf-8") as handle:
            content = handle.read()
    except FileNotFoundError:
        raise InputError(f"clean-status file {file_path} is missing: the task before this script must "
                         f"write one {names.CLEAN_OK}|{names.CLEAN_KO} entry per clean step") from None
    except OSError as error:
        raise InputError(f"clean-status file {file_path} cannot be read: {error}") from None
    entries = [entry.strip() for entry in content.split(names.CLEAN_STATUS_SEPARATOR) if entry.strip()]
    if not entries:
        raise InputError(f"clean-status file {file_path} holds no entry: expected {names.CLEAN_OK} or "
                         f"{names.CLEAN_KO} per clean step, separated by {names.CLEAN_STATUS_SEPARATOR}")
    return entries
