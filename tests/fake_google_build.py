"""A local fake of the Google REST APIs that infra/function_build.py calls, as Google documents
them.

- Cloud Storage JSON API, simple upload: `POST /upload/storage/v1/b/{bucket}/o?uploadType=media
  &name=...&ifGenerationMatch=0`: 200 with the object resource (`generation` an int64 string), 412
  when the object exists (https://cloud.google.com/storage/docs/json_api/v1/objects/insert).
- Cloud Run Admin API v2: `POST /v2/projects/{p}/locations/{l}/builds:submit`
  (google/cloud/run/v2/build.proto): the SubmitBuildResponse, whose `buildOperation` is a whole
  google.longrunning.Operation with BuildOperationMetadata, and `baseImageUri`. Refuses, as the
  proto requires, a request without storageSource, imageUri or a function target, or whose
  object is not a gzipped tarball holding main.py.
- Cloud Build v1: `GET /v1/projects/{p}/locations/{l}/operations/{id}`: the operation, done after
  a few polls with a Build (status SUCCESS, results.images[].digest) or a failure
  (google/devtools/cloudbuild/v1/cloudbuild.proto).
- OAuth: `POST /token` (the JWT bearer grant, as a service account key uses it) and IAM
  Credentials' `generateAccessToken`, so that the provider's real credential code runs.
- Errors in Google's JSON shape: {"error": {"code", "message", "status"}}.

Every request must carry `Authorization: Bearer <a token this fake issued or was given>`.
"""

import hashlib
import io
import json
import re
import tarfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_TOKEN = "ya29.fake-access-token"
REFRESHED_TOKEN = "ya29.refreshed-from-authorized-user"
IMPERSONATED_TOKEN = "ya29.impersonated"
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class Fault:
    """Answer `status` to the next `times` requests whose path matches `path` (a regex)."""
    path: str
    status: int
    times: int = 1
    message: str = "scripted"


@dataclass
class State:
    objects: dict = field(default_factory=dict)  # (bucket, name) -> (generation, bytes)
    builds: dict = field(default_factory=dict)  # build id -> dict
    # (method, path, query, headers with lower-case names, body)
    requests: list = field(default_factory=list)
    faults: list = field(default_factory=list)
    polls_to_finish: int = 2  # GETs of an operation before it is done; None: never
    fail_builds: bool = False
    tokens: set = field(default_factory=lambda: {ACCESS_TOKEN, REFRESHED_TOKEN,
                                                 IMPERSONATED_TOKEN})
    impersonated: list = field(default_factory=list)  # target principals asked for


class FakeGoogleBuild:
    def __init__(self):
        self.state = State()
        state = self.state
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.handle_request()

            def do_POST(self):
                self.handle_request()

            def handle_request(self):
                parsed = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    state.requests.append((self.command, parsed.path, query, headers, body))
                    status, answer = self.route(parsed.path, query, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def route(self, path, query, body):
                if path == "/token":  # a key file's JWT grant, as google-auth sends it
                    grant = dict(urllib.parse.parse_qsl(body.decode())).get("grant_type")
                    if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                        return 400, {"error": "unsupported_grant_type"}
                    return 200, {"access_token": REFRESHED_TOKEN, "expires_in": 3600,
                                 "token_type": "Bearer"}
                if self.headers.get("Authorization", "").removeprefix("Bearer ") \
                        not in state.tokens:
                    return error(401, "Request had invalid authentication credentials.")
                for fault in state.faults:
                    if fault.times and re.search(fault.path, path):
                        fault.times -= 1
                        return error(fault.status, fault.message)
                if match := re.fullmatch(r"/v1/projects/-/serviceAccounts/(.+):"
                                         "generateAccessToken", path):
                    state.impersonated.append(urllib.parse.unquote(match[1]))
                    return 200, {"accessToken": IMPERSONATED_TOKEN,
                                 "expireTime": "2099-01-01T00:00:00Z"}
                if match := re.fullmatch(r"/upload/storage/v1/b/([^/]+)/o", path):
                    return upload(urllib.parse.unquote(match[1]), query, body)
                if match := re.fullmatch(r"/v2/projects/([^/]+)/locations/([^/]+)/builds:submit",
                                         path):
                    return submit(match[1], match[2], json.loads(body or b"{}"))
                if match := re.fullmatch(r"/v1/projects/([^/]+)/locations/([^/]+)/operations/"
                                         r"([^/]+)", path):
                    return poll(match[3])
                return error(404, f"no such method: {path}")

            def log_message(self, *args):
                pass

        def upload(bucket, query, body):
            if query.get("uploadType") != "media" or not query.get("name"):
                return error(400, "uploadType=media and name are required")
            key = (bucket, query["name"])
            if query.get("ifGenerationMatch") == "0" and key in state.objects:
                return error(412, "At least one of the pre-conditions you specified did not "
                                  "hold.")
            generation = 1700000000000000 + len(state.objects)
            state.objects[key] = (generation, body)
            return 200, {"kind": "storage#object", "bucket": bucket, "name": query["name"],
                         "generation": str(generation), "size": str(len(body))}

        def submit(project, location, request):
            source, target = request.get("storageSource") or {}, \
                (request.get("buildpackBuild") or {}).get("functionTarget")
            if not source or not request.get("imageUri") or not target:
                return error(400, "storageSource, imageUri and buildpackBuild.functionTarget "
                                  "are required")
            stored = state.objects.get((source.get("bucket"), source.get("object")))
            if stored is None or ("generation" in source
                                  and str(stored[0]) != str(source["generation"])):
                return error(404, f"gs://{source.get('bucket')}/{source.get('object')} not found")
            if not source["object"].endswith(".tar.gz") or "main.py" not in tar_names(stored[1]):
                return error(400, "the source must be a gzipped tarball holding main.py")
            build_id = f"b{len(state.builds):04d}-{target.replace('_', '-')}"
            log_url = (f"https://console.cloud.google.com/cloud-build/builds;region={location}/"
                       f"{build_id}?project=123456789")
            build = {"id": build_id, "projectId": project, "status": "QUEUED", "logUrl": log_url,
                     "name": f"projects/123456789/locations/{location}/builds/{build_id}",
                     "request": request, "polls": 0}
            state.builds[build_id] = build
            base = request["buildpackBuild"].get("baseImage", "")
            return 200, {
                "buildOperation": {
                    "name": f"projects/123456789/locations/{location}/operations/{build_id}",
                    "metadata": metadata(build)},
                "baseImageUri": (f"{location}-docker.pkg.dev/serverless-runtimes/google-22/"
                                 f"runtimes/{base}")}

        def poll(build_id):
            build = state.builds.get(build_id)
            if build is None:
                return error(404, f"operation {build_id} not found")
            build["polls"] += 1
            operation = {"name": f"projects/{build['projectId']}/operations/{build_id}",
                         "metadata": metadata(build)}
            if state.polls_to_finish is None or build["polls"] < state.polls_to_finish:
                build["status"] = "WORKING"
                operation["metadata"] = metadata(build)
                return 200, operation
            if state.fail_builds:
                build["status"] = "FAILURE"
                operation.update(done=True, metadata=metadata(build), error={
                    "code": 3, "message": "Build failed; check build logs for details"})
                return 200, operation
            build["status"] = "SUCCESS"
            image = build["request"]["imageUri"]
            digest = "sha256:" + hashlib.sha256(build_id.encode()).hexdigest()
            operation.update(done=True, metadata=metadata(build), response={
                "@type": "type.googleapis.com/google.devtools.cloudbuild.v1.Build",
                **public(build), "results": {"images": [{"name": image, "digest": digest}]}})
            return 200, operation

        def metadata(build):
            return {"@type": "type.googleapis.com/google.devtools.cloudbuild.v1."
                             "BuildOperationMetadata", "build": public(build)}

        def public(build):
            return {k: build[k] for k in ("id", "name", "projectId", "status", "logUrl")}

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def endpoints(self) -> dict:
        """The gcp provider's settings that point every call here."""
        return {"gcp:cloudRunV2CustomEndpoint": f"{self.url}v2/",
                "gcp:cloudBuildCustomEndpoint": f"{self.url}v1/",
                "gcp:storageCustomEndpoint": f"{self.url}storage/v1/",
                "gcp:iamCredentialsCustomEndpoint": f"{self.url}v1/"}

    def calls(self, method: str | None = None, path: str = "") -> list:
        return [r for r in self.state.requests
                if method in (None, r[0]) and re.search(path, r[1])]

    def __enter__(self) -> "FakeGoogleBuild":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


def error(status: int, message: str) -> tuple:
    return status, {"error": {"code": status, "message": message,
                              "status": STATUS_NAMES.get(status, "UNKNOWN")}}


def tar_names(data: bytes) -> list:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            return tar.getnames()
    except (tarfile.TarError, OSError, EOFError):
        return []
