"""A loopback stand-in for the Hugging Face Hub's resolve endpoint (tests only; 127.0.0.1).

Serves `/{datasets/}REPO/resolve/REVISION/FILENAME` for the files it is given, at one commit sha,
with the headers `huggingface_hub` reads (X-Repo-Commit, ETag, Content-Length), and answers unknown
revisions and files with the Hub's error codes (X-Error-Code: RevisionNotFound / EntryNotFound).
It also takes commits the way the Hub's API does (`POST /api/datasets/REPO/preupload/REV` →
upload modes, `POST /api/datasets/REPO/commit/REV` with the NDJSON payload), records them in
`commits` (file contents as bytes), and answers with a commit and pull-request URL.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
import urllib.parse


class HubStandIn:
    def __init__(self, repo_id: str, commit: str, files: dict[str, bytes], aliases: tuple[str, ...] = ("main",)):
        self.repo_id, self.commit, self.files, self.aliases = repo_id, commit, files, aliases
        self.requests: list[tuple[str, str]] = []
        self.commits: list[tuple[str, dict]] = []
        stand_in = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def _answer(self, body: bool):
                stand_in.requests.append((self.command, self.path))
                path = urllib.parse.unquote(urllib.parse.urlparse(self.path).path)
                prefix = f"/datasets/{stand_in.repo_id}/resolve/"
                if not path.startswith(prefix):
                    return self._error(404, "RepoNotFound", "Repository not found")
                revision, _, filename = path[len(prefix) :].partition("/")
                if revision not in (stand_in.commit, *stand_in.aliases):
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                if filename not in stand_in.files:
                    return self._error(404, "EntryNotFound", f"{filename} does not exist")
                data = stand_in.files[filename]
                self.send_response(200)
                self.send_header("X-Repo-Commit", stand_in.commit)
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _error(self, status, code, message):
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("X-Error-Message", message)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_HEAD(self):
                self._answer(body=False)

            def do_GET(self):
                self._answer(body=True)

            def _json(self, obj):
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                stand_in.requests.append((self.command, self.path))
                url = urllib.parse.urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api = f"/api/datasets/{stand_in.repo_id}/"
                if not url.path.startswith(api):
                    return self._error(404, "RepoNotFound", "Repository not found")
                if "/preupload/" in url.path:
                    files = json.loads(body)["files"]
                    return self._json(
                        {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]}
                    )
                if "/commit/" in url.path:
                    lines = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
                    header = next(x["value"] for x in lines if x["key"] == "header")
                    files = {
                        x["value"]["path"]: base64.b64decode(x["value"]["content"]) for x in lines if x["key"] == "file"
                    }
                    params = urllib.parse.parse_qs(url.query)
                    stand_in.commits.append(
                        (url.path, {**header, "files": files, "create_pr": params.get("create_pr") == ["1"]})
                    )
                    base = f"{stand_in.endpoint}/datasets/{stand_in.repo_id}"
                    return self._json(
                        {
                            "commitUrl": f"{base}/commit/{'b' * 40}",
                            "commitOid": "b" * 40,
                            "pullRequestUrl": f"{base}/discussions/1",
                        }
                    )
                return self._error(404, "EntryNotFound", "unknown API")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
