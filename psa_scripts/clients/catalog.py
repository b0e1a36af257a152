"""The Catalog REST client (``PA_CATALOG_REST_URL``, e.g. ``https://host:8443/catalog``).

Buckets, objects and their revisions, as ``psa publish`` needs them. Uploads are
multipart/form-data built here (stdlib), so the bytes sent are the bytes a retry
sends again; the other parameters travel in the query string, as the Catalog's
REST API documents them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import routes
from .http import HttpSettings, RestClient

DEFAULT_OWNER_GROUP = "public-objects"


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
        return [str(item.get("name")) for item in self.request(routes.CATALOG_LIST_BUCKETS).json()]

    def create_bucket(self, name: str, owner_group: str = DEFAULT_OWNER_GROUP) -> None:
        """Create bucket ``name`` owned by ``GROUP:<owner_group>``."""
        self.request(routes.CATALOG_CREATE_BUCKET, params={"name": name, "owner": f"GROUP:{owner_group}"})

    def list_objects(self, bucket: str) -> List[CatalogEntry]:
        """Every object of ``bucket``, as of its latest revision."""
        items = self.request(routes.CATALOG_LIST_OBJECTS, bucket=bucket).json()
        return [CatalogEntry.from_json(item) for item in items]

    def get_object(self, bucket: str, name: str) -> CatalogEntry:
        return CatalogEntry.from_json(self.request(routes.CATALOG_GET_OBJECT, bucket=bucket, name=name).json())

    def get_raw(self, bucket: str, name: str) -> bytes:
        """The content of the object's latest revision, byte for byte."""
        return self.request(routes.CATALOG_GET_RAW, bucket=bucket, name=name).content

    def list_revisions(self, bucket: str, name: str) -> List[CatalogEntry]:
        """The object's revisions, newest first."""
        items = self.request(routes.CATALOG_LIST_REVISIONS, bucket=bucket, name=name).json()
        return [CatalogEntry.from_json(item) for item in items]

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
