"""`make smoke`'s second half: run the deployed catch-up's Cloud Scheduler job once, as the
schedule would, and read back what came of it, so that a refused key, a missing grant, a wrong
audience or a missing invoker shows as one clear line on the day of the deploy, not as an alert
a day later.

It asks gcloud (the operator's own credentials) to run the job, then reads Cloud Logging for the
first answer: the catch-up's pass line (it ran), its failure line (Okta or Cloud Storage refused
it), Cloud Run refusing the scheduler's call (401, 403), or the job's own failed attempt.

Usage: python -m okta_simulator.smoke_catch_up projects/P/locations/R/jobs/NAME SERVICE
(the stack's `catchUpSchedulerJob` and `catchUpService` outputs).
"""

import json
import subprocess
import sys
import time
from datetime import datetime, timezone

# Cloud Scheduler logs an attempt's outcome when it ends, at most the job's attempt deadline
# (infra/gcp_catch_up.py, 320 s) after it starts; then Cloud Logging's ingestion, usually seconds.
ATTEMPT_DEADLINE_SECONDS, INGESTION_SECONDS = 320, 60
WAIT_SECONDS, POLL_SECONDS = ATTEMPT_DEADLINE_SECONDS + INGESTION_SECONDS, 5
# An attempt Cloud Run refused, as Cloud Scheduler's AttemptFinished entry words it
# (jsonPayload.status: https://cloud.google.com/scheduler/docs/setup-logs).
REFUSED = ("UNAUTHENTICATED", "PERMISSION_DENIED")


def main(job: str, service: str) -> int:
    try:
        _, project, _, region, _, name = job.split("/")
    except ValueError:
        return say(f"not a Cloud Scheduler job name: {job!r} (projects/P/locations/R/jobs/NAME)",
                   2)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ran = gcloud("scheduler", "jobs", "run", name, "--location", region, "--project", project)
    if ran.returncode != 0:
        return say(f"gcloud could not run the job {name}: {last_line(ran.stderr)}", 1)
    print(f"smoke catch-up: ran the Cloud Scheduler job {name}; reading its outcome...",
          flush=True)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        read = gcloud("logging", "read", outcome_filter(name, service, started), "--project",
                      project, "--order", "asc", "--limit", "20", "--format", "json")
        if read.returncode != 0:
            return say(f"gcloud could not read Cloud Logging: {last_line(read.stderr)}", 1)
        for entry in json.loads(read.stdout or "[]"):
            verdict = judge(entry)
            if verdict is not None:
                return say(*verdict)
        time.sleep(POLL_SECONDS)
    return say(f"no outcome of the job {name} in Cloud Logging after {WAIT_SECONDS} s: see "
               "its attempts in the console (Cloud Scheduler) and the catch-up's logs", 1)


def outcome_filter(name: str, service: str, since: str) -> str:
    """Cloud Logging's filter for what running the job `name` can lead to at the catch-up's
    Cloud Run service `service`, since `since`: the catch-up's own lines, Cloud Run refusing
    Cloud Scheduler's call (not anyone else's: its User-Agent), the job's failed attempts."""
    return (f'timestamp>="{since}" AND ((resource.type="cloud_run_revision" AND '
            f'resource.labels.service_name="{service}" AND (jsonPayload.action=('
            '"okta.catch_up.pass" OR "okta.catch_up.failed") OR (httpRequest.status=(401 OR 403) '
            'AND httpRequest.userAgent:"Google-Cloud-Scheduler"))) OR '
            f'(resource.type="cloud_scheduler_job" AND resource.labels.job_id="{name}" '
            "AND severity>=ERROR))")


def judge(entry: dict) -> tuple | None:
    """(one line, exit status) for an entry that tells the outcome; None for one that does not."""
    payload = entry.get("jsonPayload") or {}
    action = payload.get("action")
    if action == "okta.catch_up.pass":
        done = "caught up" if payload.get("complete") else \
            f"ran, not caught up yet ({payload.get('stoppedBy')})"
        return (f"catch-up OK: {done}: {payload.get('eventsRead')} event(s) read, "
                f"{payload.get('usersLogged')} user line(s)", 0)
    if action == "okta.catch_up.failed":
        return f"catch-up FAILED: {payload.get('message')}", 1
    status = (entry.get("httpRequest") or {}).get("status")
    if status in (401, 403):
        why = ("Cloud Run did not accept the scheduler's OIDC token (its audience must be the "
               "service's URL)" if status == 401 else
               "the scheduler's account may not invoke the service (roles/run.invoker: "
               "pulumi up --refresh)")
        return f"catch-up NOT CALLED: Cloud Run answered the scheduler {status}: {why}", 1
    if (entry.get("resource") or {}).get("type") == "cloud_scheduler_job":
        attempt = payload.get("status") or entry.get("severity")
        if attempt in REFUSED:
            return f"catch-up NOT CALLED: the Scheduler job's attempt was refused ({attempt})", 1
        return (f"catch-up FAILED: the Scheduler job's attempt ended {attempt}, and the "
                "catch-up logged no outcome: see its logs", 1)
    return None


def gcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["gcloud", *args, "--quiet"], capture_output=True, text=True,
                          timeout=120)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def say(line: str, status: int) -> int:
    print(f"smoke catch-up: {line}" if not line.startswith("catch-up") else f"smoke {line}",
          file=sys.stdout if status == 0 else sys.stderr)
    return status


if __name__ == "__main__":
    usage = __doc__.strip().splitlines()[-2]
    sys.exit(main(*sys.argv[1:]) if len(sys.argv) == 3 else say(usage, 2))
