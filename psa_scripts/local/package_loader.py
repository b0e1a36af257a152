"""ProActive's package loader, played against the local Catalog.

ProActive installs a package (a zip or a directory) with one loader: the server's start-up
loader and the command-line client's ``install-package`` share it. This module does what
that loader does, step for step and request for request, against the emulator's Catalog
over HTTP, so a package the server would refuse is refused here, with the loader's error.
docs/catalog-packages.md lists the loader's rules and where each comes from; in short:

- a zip ``<name>.zip`` is unpacked into a temporary directory and ``<name>/METADATA.json``
  is read: a METADATA.json anywhere else fails with "... (No such file or directory)";
- a second entry of the same name fails the unpacking (the loader never overwrites);
- ``kind`` and ``contentType`` go into the request URL as they are: a space is an
  "Illegal character in query"; ``projectName`` and ``tags`` are URL-encoded as strings;
- each object's ``file`` is read relative to ``<name>/``;
- a missing bucket is created (owner ``GROUP:public-objects``, or ``GROUP:<userGroup>``);
- a missing object is created with the commit message ``<commitMessage> (<server version>)``;
  an existing one gets a revision only when its last commit message starts with the package's
  ``commitMessage`` (else it is left alone: someone edited it); the answers to these uploads
  are not checked, as the loader does not check them.

Differences, on purpose -- the rules of ``psa publish``'s reader (``psa_scripts.bundler``: one
helper each, shared), where the real loader would go on:

- an entry that would be unpacked outside the temporary directory (``../x``, ``/x``), or an
  object whose ``file`` leads outside the package folder (``../../etc/hostname``, or a link
  out of a directory package), is refused before anything is uploaded; the real loader would
  write the entry there, or upload the file;
- a zip past the package limits (entries, declared or actual sizes: a zip bomb) is refused
  before anything is unpacked;
- a dependency cycle (a package depending on itself, A -> B -> A) is reported; the real
  loader would load them again and again until its stack overflows.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote_plus

from ..bundler import BundleError, bounded_entries, leaves_folder
from ..clients.catalog import multipart

PUBLIC_OWNER = "GROUP:public-objects"
METADATA_FILE = "METADATA.json"
TIMEOUT_SECONDS = 10.0
# What java.net.URI refuses anywhere in a URL (the loader builds its URLs by concatenation).
_ILLEGAL_URI_CHARACTERS = set(' "<>\\^`{|}')


class PackageLoadError(Exception):
    """The loader failed; the message is the one ``install-package`` reports."""


class _LoaderFailure(Exception):
    """A Java exception inside the loader, by its message."""


def _groovy_text(value: Any) -> str:
    """How Groovy concatenates a value into a string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_groovy_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{key}:{_groovy_text(item)}" for key, item in value.items()) + "]"
    return str(value)


def _url_encode(value: Any) -> str:
    """java.net.URLEncoder.encode(value, "UTF-8"): only a string is accepted."""
    if not isinstance(value, str):
        java_type = {list: "java.util.ArrayList", dict: "java.util.LinkedHashMap", int: "java.lang.Integer",
                     bool: "java.lang.Boolean", float: "java.math.BigDecimal"}.get(type(value), "java.lang.Object")
        raise _LoaderFailure("No signature of method: static java.net.URLEncoder.encode() is applicable for "
                             f"argument types: ({java_type}, java.lang.String)")
    return quote_plus(value, safe="*").replace("~", "%7E")


def _check_uri(url: str) -> str:
    """What java.net.URI accepts, else its IllegalArgumentException; the URL as sent (no fragment)."""
    component = "path"
    index = 0
    while index < len(url):
        char = url[index]
        if char == "?" and component == "path":
            component = "query"
        elif char == "#" and component != "fragment":
            component = "fragment"
        elif char in _ILLEGAL_URI_CHARACTERS or ord(char) < 32 or ord(char) == 127 or (
                char == "#" and component == "fragment"):
            raise _LoaderFailure(f"Illegal character in {component} at index {index}: {url}")
        elif char == "%":
            pair = url[index + 1:index + 3]
            if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
                raise _LoaderFailure(f"Malformed escape pair at index {index}: {url}")
        index += 1
    return url.split("#", 1)[0]


def _not_found(path: Path) -> _LoaderFailure:
    return _LoaderFailure(f"{path} (No such file or directory)")


def _check_files_inside(catalog: Any, directory: Path) -> None:
    """Refuse, before anything is uploaded, an object whose ``file`` leads outside the package
    folder: written so (``..``, absolute) or through a link. Malformed entries are left to the
    steps that fail on them as the loader does."""
    objects = catalog.get("objects") if isinstance(catalog, dict) else None
    for entry in objects if isinstance(objects, list) else []:
        if not isinstance(entry, dict) or entry.get("file") is None:
            continue
        written = _groovy_text(entry["file"])
        if "\x00" in written:  # java.io.File refuses it too, when the upload opens it
            raise _LoaderFailure("Invalid file path")
        target = Path(f"{directory}/{written}")
        if leaves_folder(written) or not target.resolve().is_relative_to(directory.resolve()):
            raise _LoaderFailure(f" object {_groovy_text(entry.get('name'))}: its file {written} leads outside the "
                                 f"package folder {directory.name}/ (the real loader uploads it; the local one refuses)")


class PackageLoader:
    """One run of the loader (its bucket owner, like the real one's, carries over to the
    dependencies it loads)."""

    def __init__(self, catalog_url: str, session_id: str, server_version: str) -> None:
        self.catalog_url = catalog_url.rstrip("/")
        self.session_id = session_id
        self.server_version = server_version
        self.owner = PUBLIC_OWNER
        self.log: List[str] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._temp_dirs: List[Path] = []

    def install(self, path: Path, load_dependencies: bool = True) -> List[str]:
        """Install the package at ``path``; the loader's log lines. PackageLoadError when it fails."""
        try:
            self._run(Path(path), load_dependencies, ())
        except _LoaderFailure as failure:
            raise PackageLoadError(f"Failed to install package into catalog.{failure}") from None
        finally:
            for directory in self._temp_dirs:
                shutil.rmtree(directory, ignore_errors=True)
        return self.log

    # --- the loader's steps ------------------------------------------------------------------
    def _run(self, package: Path, load_dependencies: bool, loading: "tuple[Path, ...]") -> None:
        """Load ``package`` (its dependencies first); ``loading``: the packages whose dependencies
        lead here, to tell a cycle instead of following it."""
        if package.resolve() in [outer.resolve() for outer in loading]:
            cycle = " -> ".join(path.name for path in (*loading, package))
            raise _LoaderFailure(f" dependency cycle: {cycle} (ProActive's loader would load them until its stack "
                                 "overflows; the local one refuses)")
        self.log.append(f" Loading {package}")
        extension = package.name.rsplit(".", 1)[1] if "." in package.name else ""
        if extension == "zip":
            directory = self._unzip(package)
            suffix = ".zip"
        elif extension == "":
            directory, suffix = package, ""
        else:
            raise _LoaderFailure(" package dir extension not supported")
        metadata_file = directory / METADATA_FILE
        self.log.append(f" Parsing {metadata_file}")
        try:
            text = metadata_file.read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            raise _not_found(metadata_file) from None
        try:
            metadata = json.loads(text)
        except ValueError as error:
            raise _LoaderFailure(f"groovy.json.JsonException: {error}") from None
        if not isinstance(metadata, dict):
            raise _LoaderFailure(f"Cannot cast object '{_groovy_text(metadata)}' to class 'java.util.Map'")
        _check_files_inside(metadata.get("catalog"), directory)
        if load_dependencies:
            for name in metadata.get("dependencies") or []:
                self._run(package.absolute().parent / (_groovy_text(name) + suffix), load_dependencies,
                          (*loading, package))
        if metadata.get("dataspace") is not None:
            self.log.append(" dataspace files are not copied by the local loader")
        catalog = metadata.get("catalog")
        if catalog is not None:
            self._populate_buckets(catalog, directory)

    def _unzip(self, package: Path) -> Path:
        if not package.is_file():
            raise _not_found(package)
        temp = Path(tempfile.mkdtemp(prefix="packageTempDir"))
        self._temp_dirs.append(temp)
        try:
            archive = zipfile.ZipFile(package)
        except zipfile.BadZipFile as error:
            raise _LoaderFailure(f"java.util.zip.ZipException: {error}") from None
        with archive:
            for entry in archive.infolist():
                if leaves_folder(entry.filename):
                    raise _LoaderFailure(f"entry {entry.filename} would be unpacked outside {temp} (the real "
                                         "loader writes it there; the local one refuses)")
                if entry.is_dir():
                    Path(f"{temp}/{entry.filename}").mkdir(parents=True, exist_ok=True)
            try:
                for entry, content in bounded_entries(package, archive):
                    target = Path(f"{temp}/{entry.filename}")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:  # Files.copy without REPLACE_EXISTING: a second entry of one name fails
                        with open(target, "xb") as sink:
                            sink.write(content)
                    except FileExistsError:
                        raise _LoaderFailure(f"java.nio.file.FileAlreadyExistsException: {target}") from None
            except BundleError as error:
                raise _LoaderFailure(f" {error} (the local loader refuses a zip past the limits psa publish "
                                     "keeps)") from None
        self.log.append(f" {package} extracted!")
        return temp / package.name[: -len(".zip")]

    def _populate_buckets(self, catalog: Any, directory: Path) -> None:
        if not isinstance(catalog, dict):
            raise _LoaderFailure(f"No signature of method: get() for argument '{_groovy_text(catalog)}'")
        buckets = catalog.get("bucket")
        buckets = [buckets] if isinstance(buckets, str) else buckets
        if not isinstance(buckets, list):
            raise _LoaderFailure(f"Cannot iterate over bucket {_groovy_text(buckets)}")
        for bucket in buckets:
            if "userGroup" in catalog:
                group = catalog["userGroup"]
                if not isinstance(group, (str, list, dict)):
                    raise _LoaderFailure("Cannot invoke method isEmpty() on "
                                         + ("null object" if group is None else _groovy_text(group)))
                if len(group) > 0:
                    self.owner = "GROUP:" + _groovy_text(group)
            name = self._bucket(_groovy_text(bucket))
            listing = self._json("GET", f"{self.catalog_url}/buckets/{name}/resources")
            for entry in catalog.get("objects") or []:
                self._push_object(entry, directory, listing, name)

    def _bucket(self, bucket: str) -> str:
        buckets = self._json("GET", f"{self.catalog_url}/buckets")
        found = next((b for b in buckets if isinstance(b, dict) and b.get("name") == bucket), None)
        self.log.append(f" bucket {bucket} found? {'true' if found else 'false'}")
        if found is not None:
            if self.owner != PUBLIC_OWNER:
                self._json("PUT", f"{self.catalog_url}/buckets/{bucket}?owner={self.owner}")
                self.log.append(f"The user group of {bucket} is updated!")
            return str(found["name"])
        created = self._json("POST", f"{self.catalog_url}/buckets?name={bucket}&owner={self.owner}")
        self.log.append(f" {bucket} created!")
        return str(created.get("name"))

    def _push_object(self, entry: Any, directory: Path, listing: List[Any], bucket: str) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("metadata"), dict):
            raise _LoaderFailure("java.lang.NullPointerException: Cannot invoke method get() on null object")
        fields = entry["metadata"]
        if entry.get("name") is None or entry.get("file") is None:
            raise _LoaderFailure("java.lang.NullPointerException")
        name = _url_encode(entry["name"])
        found = next((r for r in listing if isinstance(r, dict) and r.get("name") == name), None)
        self.log.append(f" {name} found? {'true' if found else 'false'}")
        file = Path(f"{directory}/{_groovy_text(entry['file'])}")
        message_start = fields.get("commitMessage")
        message = _url_encode(_groovy_text(message_start) + f" ({self.server_version})")
        if found is None:
            url = (f"{self.catalog_url}/buckets/{bucket}/resources?name={name}&kind={_groovy_text(fields.get('kind'))}"
                   f"&commitMessage={message}&objectContentType={_groovy_text(fields.get('contentType'))}")
            if fields.get("projectName") is not None:
                url += "&projectName=" + _url_encode(fields["projectName"])
            if fields.get("tags") is not None:
                url += "&tags=" + _url_encode(fields["tags"])
            self._upload(url, file)
            self.log.append(f" {file.name} created!")
        elif message_start is None:
            raise _LoaderFailure("java.lang.NullPointerException")
        elif str(found.get("commit_message") or "").startswith(_groovy_text(message_start)):
            url = f"{self.catalog_url}/buckets/{bucket}/resources/{name}/revisions?commitMessage={message}"
            if fields.get("projectName") is not None:
                url += "&projectName=" + _url_encode(fields["projectName"])
            self._upload(url, file)
            self.log.append(f" {file.name} updated!")

    # --- HTTP, as the loader's client sends it ------------------------------------------------
    def _upload(self, url: str, file: Path) -> int:
        sent = _check_uri(url)  # the request is built before the file is opened
        try:
            content = file.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _not_found(file) from None
        body, content_type = multipart(file.name, content, "application/octet-stream")
        status, _ = self._send("POST", sent, body, {"Content-Type": content_type, "Accept": "application/json"})
        return status  # not checked: the loader does not look at it

    def _json(self, method: str, url: str) -> Any:
        sent = _check_uri(url)
        status, text = self._send(method, sent, None, {"Accept": "application/json",
                                                       "Content-Type": "application/json"})
        if status >= 400:
            raise _LoaderFailure(f"Invalid response status from {url}: HTTP/1.1 {status}")
        try:
            return json.loads(text)
        except ValueError as error:
            raise _LoaderFailure(f"groovy.json.JsonException: {error}") from None

    def _send(self, method: str, url: str, body: Optional[bytes], headers: Dict[str, str]) -> "tuple[int, str]":
        request = urllib.request.Request(url, data=body, method=method,
                                         headers=dict(headers, sessionId=self.session_id))
        try:
            with self._opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")
