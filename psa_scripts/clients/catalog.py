"""The Catalog REST client (``PA_CATALOG_REST_URL``, e.g. ``https://host:8443/catalog``).

Buckets, objects and their revisions, as ``psa publish`` needs them. Uploads are
multipart/form-data built here (stdlib), so the bytes sent are the bytes a retry
sends again; the other parameters travel in the query string, as the Catalog's
REST API documents them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from ..errors import RestError
from . import routes
from .http import HttpSettings, RestClient, safe_url

DEFAULT_OWNER_GROUP = "public-objects"
# The Catalog's rule for a bucket name: lower-case letters, digits and '-', 3 to 63
# characters, a letter first, no '-' last (``psa`` checks names before sending them).
BUCKET_NAME = re.compile(r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass
class CatalogEntry:
    """An object's metadata as the Catalog lists it (its latest revision)."""

    name: str
    kind: str = ""
    content_type: str = ""
    commit_message: str = ""
    username: str = ""
    commit_time: str = ""
    extra: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CatalogEntry":
        known = ("name", "kind", "content_type", "commit_message", "username", "commit_time")
        values = {key: str(data.get(key) or "") for key in known}
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})


def _is_entry(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("name"), str) and bool(item["name"])


def multipart(filename: str, content: bytes, content_type: str) -> Tuple[bytes, str]:
    """A multipart/form-data body with one part ``file``, and its Content-Type header."""
    boundary = f"psa-scripts-{uuid.uuid4().hex}"
    while boundary.encode() in content:  # pragma: no cover - 128 random bits
        boundary = f"psa-scripts-{uuid.uuid4().hex}"
    safe_name = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
    body = b"".join([
        f"--{boundary}\r\n".encode(),
        f'Content-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'.encode(),
        f"Content-Type: {content_type}\r\n\r\n".encode(),
        content,
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    return body, f"multipart/form-data; boundary={boundary}"


class CatalogClient(RestClient):
    """The Catalog, authenticated by a scheduler session id (header ``sessionid``)."""

    services = (routes.CATALOG,)

    def __init__(self, base_url: str, session_id: Optional[str] = None,
                 settings: Optional[HttpSettings] = None) -> None:
        super().__init__(base_url, session_id, settings)

    def bucket_names(self) -> List[str]:
        """The names of the buckets this session can see."""
        return [entry.name for entry in self._entries(routes.CATALOG_LIST_BUCKETS, "buckets")]

    def create_bucket(self, name: str, owner_group: str = DEFAULT_OWNER_GROUP) -> None:
        """Create bucket ``name`` owned by ``GROUP:<owner_group>``."""
        self.request(routes.CATALOG_CREATE_BUCKET, params={"name": name, "owner": f"GROUP:{owner_group}"})

    def list_objects(self, bucket: str) -> List[CatalogEntry]:
        """Every object of ``bucket``, as of its latest revision."""
        return self._entries(routes.CATALOG_LIST_OBJECTS, "objects", bucket=bucket)

    def get_object(self, bucket: str, name: str) -> CatalogEntry:
        data = self.request_json(routes.CATALOG_GET_OBJECT, bucket=bucket, name=name)
        if not _is_entry(data):
            raise self._shape_error(routes.CATALOG_GET_OBJECT, "an object", data, bucket=bucket, name=name)
        return CatalogEntry.from_json(data)

    def get_raw(self, bucket: str, name: str) -> bytes:
        """The content of the object's latest revision, byte for byte."""
        return self.request(routes.CATALOG_GET_RAW, bucket=bucket, name=name).content

    def list_revisions(self, bucket: str, name: str) -> List[CatalogEntry]:
        """The object's revisions, newest first."""
        return self._entries(routes.CATALOG_LIST_REVISIONS, "revisions", bucket=bucket, name=name)

    def _entries(self, route: routes.Route, what: str, **path_params: str) -> List[CatalogEntry]:
        """A JSON list of named entries, or a RestError saying what came instead (a proxy's
        HTML page, an error object answered with 200...)."""
        data = self.request_json(route, **path_params)
        if not isinstance(data, list) or not all(_is_entry(item) for item in data):
            raise self._shape_error(route, f"a list of {what}", data, **path_params)
        return [CatalogEntry.from_json(item) for item in data]

    def _shape_error(self, route: routes.Route, expected: str, data: Any, **path_params: str) -> RestError:
        shown = safe_url(self.url(route, **path_params))
        return RestError(route.method, shown, None, f"expected {expected}, got: {self._scrub(repr(data), 120)}")

    def create_object(self, bucket: str, name: str, *, kind: str, content: bytes, content_type: str,
                      commit_message: str, filename: str, project_name: str = "", tags: str = "") -> None:
        """Create object ``name`` in ``bucket`` with its first revision."""
        body, header = multipart(filename, content, content_type)
        params = {"name": name, "kind": kind, "commitMessage": commit_message,
                  "objectContentType": content_type, "projectName": project_name, "tags": tags}
        self.request(routes.CATALOG_CREATE_OBJECT, params=params, data=body,
                     headers={"Content-Type": header}, bucket=bucket)

    def create_revision(self, bucket: str, name: str, *, content: bytes, content_type: str,
                        commit_message: str, filename: str, project_name: str = "", tags: str = "") -> None:
        """Add a revision to object ``name`` of ``bucket``."""
        body, header = multipart(filename, content, content_type)
        params = {"commitMessage": commit_message, "projectName": project_name, "tags": tags}
        self.request(routes.CATALOG_CREATE_REVISION, params=params, data=body,
                     headers={"Content-Type": header}, bucket=bucket, name=name)
