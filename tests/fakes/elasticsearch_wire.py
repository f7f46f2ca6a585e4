"""A local server speaking the Elasticsearch REST wire format for the calls our admin code makes.

Driven by the real ``elasticsearch`` client (it checks the ``X-Elastic-Product`` header, the JSON
shapes and status codes), so what is verified here is exactly what goes over the wire: which
index is created with which settings and mappings, which alias actions are sent in which request,
what a bulk request contains and how 429-rejected items are retried. Search and scoring are not
emulated: those stay in the live tests (``COURSE_TA_ELASTICSEARCH_URL``).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes.local_http import LocalHTTPServer


class Cluster:
    def __init__(self, version: str = "8.15.0", password: str | None = None) -> None:
        self.version = version
        self.password = password  # when set, requests without matching basic auth get 401
        self.indices: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)  # alias -> index -> props
        self.requests: list[tuple[str, str, Any]] = []
        self.reject_once: set[str] = set()  # ids whose first bulk attempt gets 429
        self.fail_ids: set[str] = set()  # ids rejected with a mapping error every time
        self.lock = threading.Lock()

    def behind(self, name: str) -> list[str]:
        return sorted(self.aliases.get(name, {}))

    def concrete(self, name: str) -> list[str]:
        if name in self.indices:
            return [name]
        return self.behind(name)


class _Handler(BaseHTTPRequestHandler):
    cluster: Cluster
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any = None) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.cluster.password is None:
            return True
        import base64

        expected = "Basic " + base64.b64encode(f"elastic:{self.cluster.password}".encode()).decode()
        if self.headers.get("Authorization") == expected:
            return True
        self._send(401, {"error": {"type": "security_exception", "reason": "unable to authenticate user [elastic]"}, "status": 401})
        return False

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_GET(self) -> None:
        self._route("GET")

    def do_PUT(self) -> None:
        self._route("PUT")

    def do_POST(self) -> None:
        self._route("POST")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def _route(self, method: str) -> None:
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        raw = self._body()
        if not self._authorized():
            return
        c = self.cluster
        with c.lock:
            c.requests.append((method, url.path, raw))
            if not parts:
                return self._send(
                    200,
                    {
                        "name": "wire",
                        "cluster_name": "wire",
                        "version": {"number": c.version, "build_flavor": "default"},
                        "tagline": "You Know, for Search",
                    },
                )
            if parts[0] == "_aliases" and method == "POST":
                return self._update_aliases(json.loads(raw))
            if parts[0] == "_alias" and len(parts) == 2:
                behind = c.behind(parts[1])
                if not behind:
                    return self._send(404, {"error": f"alias [{parts[1]}] missing", "status": 404})
                return self._send(200, {index: {"aliases": {parts[1]: c.aliases[parts[1]][index]}} for index in behind})
            if parts[0] == "_bulk" or (len(parts) == 2 and parts[1] == "_bulk"):
                return self._bulk(parts[0] if parts[0] != "_bulk" else None, raw)
            if parts[0] == "_search" and len(parts) >= 2 and parts[1] == "scroll":
                if method == "DELETE":
                    return self._send(200, {"succeeded": True, "num_freed": 1})
                return self._send(200, {"_scroll_id": "done", "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}})
            name = parts[0]
            if len(parts) == 2 and parts[1] == "_search":
                return self._search(name, json.loads(raw or b"{}"), query)
            if len(parts) == 1 and method == "GET" and "*" in name:
                import fnmatch

                return self._send(
                    200, {i: {"mappings": c.indices[i]["mappings"], "aliases": {}} for i in c.indices if fnmatch.fnmatch(i, name)}
                )
            if len(parts) == 1:
                if method == "HEAD":
                    return self._send(200 if c.concrete(name) else 404)
                if method == "PUT":
                    if name in c.indices or name in c.aliases:
                        return self._send(400, {"error": {"type": "resource_already_exists_exception", "reason": name}, "status": 400})
                    body = json.loads(raw or b"{}")
                    c.indices[name] = {"mappings": body.get("mappings", {}), "settings": body.get("settings", {}), "docs": {}}
                    return self._send(200, {"acknowledged": True, "shards_acknowledged": True, "index": name})
                if method == "DELETE":
                    for index in c.concrete(name):
                        c.indices.pop(index, None)
                        for alias in c.aliases.values():
                            alias.pop(index, None)
                    return self._send(200, {"acknowledged": True})
            if len(parts) == 2 and parts[1] == "_mapping":
                found = c.concrete(name)
                if not found:
                    return self._send(404, {"error": {"type": "index_not_found_exception", "reason": name}, "status": 404})
                return self._send(200, {index: {"mappings": c.indices[index]["mappings"]} for index in found})
            if len(parts) == 2 and parts[1] == "_count":
                docs: dict[str, Any] = {}
                for index in c.concrete(name):
                    docs.update(c.indices[index]["docs"])
                body = json.loads(raw or b"{}")
                ids = body.get("query", {}).get("ids", {}).get("values")
                count = len(docs) if ids is None else len(set(ids) & set(docs))
                return self._send(200, {"count": count, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
            if len(parts) == 2 and parts[1] == "_refresh":
                return self._send(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        self._send(400, {"error": {"type": "wire_server", "reason": f"{method} {url.path} is not emulated"}, "status": 400})

    def _search(self, name: str, body: dict[str, Any], query: dict[str, list[str]]) -> None:
        """Scan support only (what helpers.scan sends): match_all or ids, every hit in the first page."""
        c = self.cluster
        hits = []
        ids = body.get("query", {}).get("ids", {}).get("values")
        source_param = query.get("_source", ["true"])[0]
        for index in c.concrete(name):
            for doc_id, source in c.indices[index]["docs"].items():
                if ids is not None and doc_id not in ids:
                    continue
                hit: dict[str, Any] = {"_index": index, "_id": doc_id, "_score": None}
                if source_param != "false":
                    fields = None if source_param == "true" else source_param.split(",")
                    hit["_source"] = source if fields is None else {k: v for k, v in source.items() if k in fields}
                hits.append(hit)
        self._send(
            200,
            {
                "_scroll_id": "scroll-1",
                "took": 1,
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {"total": {"value": len(hits), "relation": "eq"}, "hits": hits},
            },
        )

    def _update_aliases(self, body: dict[str, Any]) -> None:
        c = self.cluster
        for action in body["actions"]:  # validated first: all or nothing, like Elasticsearch
            ((kind, spec),) = action.items()
            if spec["index"] not in c.indices:
                return self._send(404, {"error": {"type": "index_not_found_exception", "reason": spec["index"]}, "status": 404})
        for action in body["actions"]:
            ((kind, spec),) = action.items()
            if kind == "add":
                c.aliases[spec["alias"]][spec["index"]] = {"is_write_index": spec.get("is_write_index", False)}
            elif kind == "remove":
                c.aliases[spec["alias"]].pop(spec["index"], None)
            elif kind == "remove_index":
                c.indices.pop(spec["index"], None)
        self._send(200, {"acknowledged": True})

    def _bulk(self, default_index: str | None, raw: bytes) -> None:
        c = self.cluster
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        items, errors, i = [], False, 0
        while i < len(lines):
            ((op, meta),) = lines[i].items()
            index = meta.get("_index", default_index)
            doc_id = meta["_id"]
            source = lines[i + 1] if op in ("index", "create") else None
            i += 2 if source is not None else 1
            target = c.concrete(index)
            if doc_id in c.reject_once:
                c.reject_once.discard(doc_id)
                items.append(
                    _bulk_error(op, index, doc_id, 429, "es_rejected_execution_exception", "rejected execution (queue capacity 200)")
                )
                errors = True
                continue
            if doc_id in c.fail_ids:
                items.append(_bulk_error(op, index, doc_id, 400, "document_parsing_exception", "failed to parse field [embedding]"))
                errors = True
                continue
            docs = c.indices[target[0]]["docs"]
            if op == "delete":
                docs.pop(doc_id, None)
                items.append({op: {"_index": target[0], "_id": doc_id, "status": 200, "result": "deleted"}})
            elif op == "create" and doc_id in docs:
                items.append(_bulk_error(op, target[0], doc_id, 409, "version_conflict_engine_exception", "exists"))
                errors = True
            else:
                docs[doc_id] = source
                items.append({op: {"_index": target[0], "_id": doc_id, "status": 201, "result": "created"}})
        self._send(200, {"took": 1, "errors": errors, "items": items})


def _bulk_error(op: str, index: str | None, doc_id: str, status: int, kind: str, reason: str) -> dict[str, Any]:
    """One failed item of a bulk response, as Elasticsearch reports it."""
    return {op: {"_index": index, "_id": doc_id, "status": status, "error": {"type": kind, "reason": reason}}}


class WireServer(LocalHTTPServer):
    def __init__(self, cluster: Cluster) -> None:
        super().__init__(type("Handler", (_Handler,), {"cluster": cluster}))
        self.cluster = cluster
