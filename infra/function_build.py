"""A container image of function/ for one entry point, built by Cloud Run's build API.

What `gcloud run deploy --source function/ --function TARGET --base-image python313` does before
it deploys, as one Pulumi resource: upload the source (a .tar.gz named by its content), submit
`projects.locations.builds:submit` (Google's Python buildpack, the function target, automatic base
image updates), poll Cloud Build's operation to its end, and give the image pinned by its digest
and the base image that Cloud Run keeps patched. The Cloud Run service is then declared with
pulumi-gcp from these outputs.

It builds only when the source's content, the target, the base image or where the image goes
changes: a second `pulumi up` builds nothing, and nothing is built in `pulumi preview`, where
Pulumi never calls a dynamic provider's create or update. A failed build raises, so `pulumi up`
stops and keeps the previous image (or nothing, for a first build) in the state.

It calls Google with the credentials, project and endpoints the gcp provider uses (gcp:accessToken,
gcp:credentials, gcp:impersonateServiceAccount, the *CustomEndpoint settings and their environment
variables, else Application Default Credentials), so a deployment that works for pulumi-gcp works
here, and a test can point it at a local fake of Google's REST APIs.

Sources: googleapis google/cloud/run/v2/build.proto (SubmitBuildRequest/Response),
google/devtools/cloudbuild/v1/cloudbuild.proto (Build, BuildOperationMetadata), gcloud's
command_lib/run/sourcedeploys/deployer.py (the operation's name, the polling, the digest) and
https://cloud.google.com/run/docs/configuring/services/automatic-base-image-updates .
"""

import base64

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ResourceProvider,
    UpdateResult,
)

from by_value import stored_by_value

# A build that changes any of these makes a different image; nothing else starts one.
BUILD_INPUTS = ("project", "region", "bucket", "sourceHash", "functionTarget", "imageUri",
                "baseImage", "serviceAccount")
DEFAULT_TIMEOUT_SECONDS = 20 * 60  # the gcp provider's own limit for a Cloud Run service
DEFAULT_POLL_SECONDS = 2.0  # gcloud polls a build every second for a minute, then backs off
MAX_TRIES = 5  # for one request answered 429 or 5xx, or not at all
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# The gcp provider's settings that this provider honours, each with the environment variables
# the provider reads when the setting is absent (terraform-provider-google's provider.go).
SETTINGS = {
    "accessToken": ("GOOGLE_OAUTH_ACCESS_TOKEN",),
    "credentials": ("GOOGLE_CREDENTIALS", "GOOGLE_CLOUD_KEYFILE_JSON", "GCLOUD_KEYFILE_JSON"),
    "impersonateServiceAccount": ("GOOGLE_IMPERSONATE_SERVICE_ACCOUNT",),
    "impersonateServiceAccountDelegates": (),
    "cloudRunV2CustomEndpoint": ("GOOGLE_CLOUD_RUN_V2_CUSTOM_ENDPOINT",),
    "cloudBuildCustomEndpoint": ("GOOGLE_CLOUD_BUILD_CUSTOM_ENDPOINT",),
    "storageCustomEndpoint": ("GOOGLE_STORAGE_CUSTOM_ENDPOINT",),
    "iamCredentialsCustomEndpoint": ("GOOGLE_IAM_CREDENTIALS_CUSTOM_ENDPOINT",),
}
ENDPOINTS = {"cloudRunV2CustomEndpoint": "https://run.googleapis.com/v2/",
             "cloudBuildCustomEndpoint": "https://cloudbuild.googleapis.com/v1/",
             "storageCustomEndpoint": "https://storage.googleapis.com/storage/v1/",
             "iamCredentialsCustomEndpoint": "https://iamcredentials.googleapis.com/v1/"}
# What each call needs, for the error that names it when Google answers 403 (or, for the build
# API, 404: gcloud's deployer.py reads that as a missing permission too).
NEEDED = {
    "upload": "the deploying identity needs roles/storage.objectCreator on bucket {bucket} "
              "(Storage Admin or Owner on the project include it)",
    "submit": "the deploying identity needs Cloud Run Source Developer (roles/run.sourceDeveloper) "
              "on project {project}, and Service Account User (roles/iam.serviceAccountUser) on "
              "the build's account {serviceAccount}; is the Cloud Run Admin API enabled?",
    "poll": "the deploying identity needs cloudbuild.operations.get on project {project} "
            "(Cloud Build Viewer, roles/cloudbuild.builds.viewer, or Cloud Run Source Developer)",
}


class FunctionBuildProvider(ResourceProvider):
    """Builds are made here; the methods' names say which Google call each one makes."""

    def configure(self, req):
        self._settings = {key: req.config.get(f"gcp:{key}") for key in SETTINGS}

    def check(self, _olds, news):
        missing = [key for key in (*BUILD_INPUTS, "archive") if not news.get(key)]
        return CheckResult(news, [CheckFailure(key, f"{key} is required") for key in missing])

    def diff(self, _id, olds, news):
        """A new image only for a change that makes one. The archive's bytes are not compared
        (its content hash is), nor is the serialized provider, whose code carries the checkout's
        path: neither may rebuild from another clone."""
        changed = [key for key in BUILD_INPUTS if olds.get(key) != news.get(key)]
        return DiffResult(changes=bool(changed), replaces=[])

    def create(self, props):
        outs = self.build(props)
        return CreateResult(id_=outs["buildId"], outs={**props, **outs})

    def update(self, _id, _olds, news):
        return UpdateResult(outs={**news, **self.build(news)})

    def delete(self, _id, _props):
        """Nothing to undo: the image stays until the repository's cleanup policy removes it
        (or `pulumi destroy` deletes the repository), so a rollback can still use it."""

    # --- one build -------------------------------------------------------------------------

    def build(self, props) -> dict:
        import time

        deadline = time.monotonic() + float(props.get("timeoutSeconds") or DEFAULT_TIMEOUT_SECONDS)
        session = self.session()
        generation = self.upload(session, props, deadline)
        submitted = self.submit(session, props, generation, deadline)
        build = self.wait(session, props, submitted, deadline)
        return {"image": self.pinned_image(props["imageUri"], build),
                "baseImageUri": submitted["baseImageUri"], "buildId": build.get("id", ""),
                "logUrl": build.get("logUrl", "")}

    def upload(self, session, props, deadline):
        """The source, as a new object that is never overwritten: its name carries the content's
        hash, so an object already there (412) holds these files already. Its generation, or
        None for one uploaded before, when the build takes the latest."""
        import base64
        import urllib.parse

        storage = self.endpoint("storageCustomEndpoint")
        upload_root = storage.removesuffix("storage/v1/") + "upload/storage/v1/"
        query = urllib.parse.urlencode({"uploadType": "media", "name": props["object"],
                                        "ifGenerationMatch": "0"})
        url = f"{upload_root}b/{urllib.parse.quote(props['bucket'], safe='')}/o?{query}"
        response = self.call(session, "POST", url, "upload", props, deadline,
                             data=base64.b64decode(props["archive"]),
                             headers={"Content-Type": "application/gzip"}, accept=(412,))
        return None if response.status_code == 412 else str(response.json()["generation"])

    def submit(self, session, props, generation, deadline) -> dict:
        """builds:submit, as gcloud run deploy --source --function --base-image sends it: no
        runtime string (deprecated), the target, the base image with automatic updates."""
        source = {"bucket": props["bucket"], "object": props["object"]}
        if generation is not None:
            source["generation"] = generation
        body = {"storageSource": source, "imageUri": props["imageUri"],
                "buildpackBuild": {"functionTarget": props["functionTarget"],
                                   "baseImage": props["baseImage"],
                                   "enableAutomaticUpdates": True},
                "serviceAccount": props["serviceAccount"]}
        url = (f"{self.endpoint('cloudRunV2CustomEndpoint')}projects/{props['project']}/"
               f"locations/{props['region']}/builds:submit")
        answer = self.call(session, "POST", url, "submit", props, deadline, json=body).json()
        operation = answer.get("buildOperation")
        if not isinstance(operation, dict) or not answer.get("baseImageUri"):
            raise Exception("Cloud Run's build API answered without a build operation or a "
                            f"baseImageUri: {str(answer)[:500]}")
        return answer

    def wait(self, session, props, submitted, deadline) -> dict:
        """Poll the build's operation at Cloud Build until it is done; the Build on success."""
        import time

        operation = submitted["buildOperation"]
        url = self.endpoint("cloudBuildCustomEndpoint") + self.operation_name(operation)
        last = (operation.get("metadata") or {}).get("build") or {}
        while not operation.get("done"):
            if time.monotonic() >= deadline:
                raise Exception(
                    f"the build of {props['functionTarget']} did not finish within "
                    f"{float(props.get('timeoutSeconds') or DEFAULT_TIMEOUT_SECONDS):g} s "
                    f"(last status {last.get('status', 'unknown')}); its log: "
                    f"{last.get('logUrl', 'unknown')}. Nothing was deployed from it; run "
                    "pulumi up again")
            time.sleep(float(props.get("pollSeconds") or DEFAULT_POLL_SECONDS))
            operation = self.call(session, "GET", url, "poll", props, deadline).json()
            last = (operation.get("metadata") or {}).get("build") or last
        build = operation.get("response") or {}
        if operation.get("error") or build.get("status") != "SUCCESS":
            detail = (operation.get("error") or {}).get("message") or build.get("statusDetail")
            status = build.get("status") or last.get("status") or "FAILURE"
            log_url = build.get("logUrl") or last.get("logUrl") or "unknown"
            raise Exception(f"the build of {props['functionTarget']} failed ({status}: {detail});"
                            f" its log: {log_url}. Nothing was deployed from it")
        return build

    def operation_name(self, operation) -> str:
        """projects/{build.projectId}/locations/{region}/operations/{build.id}, as gcloud builds
        it from the metadata (deployer.py), else the operation's own name."""
        import re

        build = (operation.get("metadata") or {}).get("build") or {}
        where = re.fullmatch(r"projects/[^/]+/locations/([^/]+)/builds/[^/]+",
                             build.get("name", ""))
        if where and build.get("projectId") and build.get("id"):
            return f"projects/{build['projectId']}/locations/{where[1]}/operations/{build['id']}"
        if re.fullmatch(r"projects/[^/]+/locations/[^/]+/operations/[^/]+",
                        operation.get("name", "")):
            return operation["name"]
        raise Exception(f"cannot tell which build operation to wait for: {str(operation)[:500]}")

    def pinned_image(self, image_uri, build) -> str:
        """The image by digest, so that a revision runs exactly what was built (gcloud's
        serverless_operations.py appends "@" + the digest the same way)."""
        import re

        images = (build.get("results") or {}).get("images") or []
        digests = [image.get("digest") for image in images  # a name may carry a tag
                   if re.sub(r":[^/]*$", "", str(image.get("name")).split("@")[0]) == image_uri]
        if not digests and len(images) == 1:  # gcloud takes the first image, whatever its name
            digests = [images[0].get("digest")]
        if not digests or not str(digests[0]).startswith("sha256:"):
            raise Exception(f"the build {build.get('id')} succeeded but named no digest for "
                            f"{image_uri}; its log: {build.get('logUrl', 'unknown')}")
        return f"{image_uri}@{digests[0]}"

    # --- talking to Google -----------------------------------------------------------------

    def call(self, session, method, url, step, props, deadline, accept=(), **kwargs):
        """One request, tried again on 429, 5xx or no answer (at most MAX_TRIES times, backing
        off, never past the deadline); any other answer but 2xx and `accept` raises, saying
        what was refused and, for 403, what grant is missing."""
        import time

        import google.auth.exceptions
        import requests

        pause = float(props.get("pollSeconds") or DEFAULT_POLL_SECONDS)
        for attempt in range(1, MAX_TRIES + 1):
            left = deadline - time.monotonic()
            try:
                response = session.request(method, url, timeout=(10, max(min(left, 60), 1)),
                                           **kwargs)
                status, problem = response.status_code, self.error_message(response)
            except (requests.RequestException, google.auth.exceptions.TransportError) as error:
                response, status, problem = None, None, f"no answer ({error})"
            except google.auth.exceptions.GoogleAuthError as error:  # refused on refresh
                raise Exception(f"Google refused the credentials in the {step} step ({error}): "
                                "the gcp provider's (gcp:accessToken, gcp:credentials), else "
                                "`gcloud auth application-default login`") from None
            if response is not None and (response.ok or status in accept):
                return response
            retried = status is None or status == 429 or status >= 500
            if not retried or attempt == MAX_TRIES or time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 30.0)
        said = f"HTTP {status}: {problem}" if status else problem
        named = status == 403 or (status == 404 and step == "submit")
        hint = NEEDED[step].format(**props) if named else ""
        tries = f" after {attempt} tries" if retried and attempt > 1 else ""
        raise Exception(f"Google refused the {step} step of building {props['functionTarget']}"
                        f"{tries} ({said})" + (f": {hint}" if hint else ""))

    def error_message(self, response) -> str:
        """Google's error.message (google.rpc.Status in JSON), else the start of the body."""
        try:
            return str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            return response.text[:300]

    def endpoint(self, key) -> str:
        value = self.setting(key) or ENDPOINTS[key]
        return value if value.endswith("/") else value + "/"

    def setting(self, key):
        """The gcp provider's setting `key`: stack config first, then its environment."""
        import os

        value = getattr(self, "_settings", {}).get(key)
        return value or next((os.environ[name] for name in SETTINGS[key]
                              if os.environ.get(name)), None)

    def session(self):
        """An authorized session with the gcp provider's credentials: an access token, a key
        or credentials file (a path or its JSON), else Application Default Credentials; then
        impersonation when it is set."""
        import json

        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        token, key = self.setting("accessToken"), self.setting("credentials")
        if token:
            from google.oauth2.credentials import Credentials

            credentials = Credentials(self.path_or_contents(token).strip())
        elif key:
            credentials = self.key_credentials(json.loads(self.path_or_contents(key)))
        else:
            credentials, _ = google.auth.default(scopes=SCOPES)
        target = self.setting("impersonateServiceAccount")
        if target:
            from google.auth import impersonated_credentials

            delegates = self.setting("impersonateServiceAccountDelegates")
            credentials = impersonated_credentials.Credentials(
                source_credentials=credentials, target_principal=target,
                target_scopes=SCOPES, delegates=json.loads(delegates) if delegates else None,
                iam_endpoint_override=(f"{self.endpoint('iamCredentialsCustomEndpoint')}"
                                       f"projects/-/serviceAccounts/{target}"
                                       ":generateAccessToken"))
        return AuthorizedSession(credentials)

    def key_credentials(self, info: dict):
        """gcp:credentials: a service account key or a user's credentials by their loaders;
        any other type google-auth knows (external accounts, say) by its generic one, whose
        warning about files from strangers does not apply to the stack's own setting."""
        import warnings

        import google.auth
        from google.oauth2 import credentials, service_account

        if info.get("type") == "service_account":
            return service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
        if info.get("type") == "authorized_user":
            return credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return google.auth.load_credentials_from_dict(info, scopes=SCOPES)[0]

    def path_or_contents(self, value: str) -> str:
        """As the gcp provider reads credentials: a file's path, or the value itself."""
        import os

        path = os.path.expanduser(value)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                return file.read()
        return value


class FunctionBuild(pulumi.dynamic.Resource, module="cloudrun", name="FunctionBuild"):
    """The image of one function target; `image` is pinned by digest, `baseImageUri` is the
    base image that Cloud Run's automatic updates keep patched (output names are the state's)."""

    image: pulumi.Output[str]
    baseImageUri: pulumi.Output[str]  # noqa: N815
    logUrl: pulumi.Output[str]  # noqa: N815

    def __init__(self, name: str, *, project: pulumi.Input[str], region: str,
                 bucket: pulumi.Input[str], source: tuple, function_target: str,
                 image_uri: pulumi.Input[str], base_image: str,
                 service_account: pulumi.Input[str],
                 timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 poll_seconds: float = DEFAULT_POLL_SECONDS,
                 opts: pulumi.ResourceOptions | None = None):
        object_name, archive, source_hash = source
        with stored_by_value(FunctionBuildProvider):  # Pulumi pickles it in __init__
            super().__init__(FunctionBuildProvider(), name, {
                "project": project, "region": region, "bucket": bucket, "object": object_name,
                "archive": base64.b64encode(archive).decode(), "sourceHash": source_hash,
                "functionTarget": function_target, "imageUri": image_uri,
                "baseImage": base_image, "serviceAccount": service_account,
                "timeoutSeconds": timeout_seconds, "pollSeconds": poll_seconds,
                "image": None, "baseImageUri": None, "buildId": None, "logUrl": None,
            }, opts)
