"""The stack's settings, read once from Pulumi config and checked before anything is declared.

Every value Okta or Google Cloud would refuse later, after minutes of deployment, is refused here
instead, with a ConfigError that names the key.
"""

import difflib
import functools
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

import pulumi
from croniter import croniter

import cloud_run_limits
from catch_up_limits import limits
from names import MAX_FUNCTION_NAME, default_function_name

PROJECT = "okta-event-hook"
DEFAULT_EVENTS = ["user.lifecycle.deactivate"]
MAX_EVENT_TYPES = 300  # Okta's limit for one event hook
DEFAULT_CATCH_UP_SCHEDULE = "*/15 * * * *"
# The alert that watches the catch-up waits for an absence of complete passes at most this long
# (Cloud Monitoring's longest absence duration): a schedule must run within it, with half an hour
# to spare for a pass and the scheduler's retries.
MAX_ABSENCE_SECONDS = 23 * 3600 + 30 * 60
MAX_CATCH_UP_INTERVAL_MINUTES = MAX_ABSENCE_SECONDS // 60 - 30
SECRET_KEYS = ("hookSecret", "previousHookSecret")
# Every okta-event-hook: key the program reads; any other is most likely a typo.
KNOWN_KEYS = {*SECRET_KEYS, "events", "hookName", "functionName", "memory", "cpu",
              "minInstances", "maxInstances", "concurrency", "catchUp", "catchUpSchedule",
              "catchUpLookbackMinutes", "catchUpSchedulerRegion", "alertEmail", "retentionDays",
              "deactivationTopic", "keepRecordOnDestroy"}
# The record's log bucket: a year's audit and a margin by default, within Cloud Logging's limits.
# https://cloud.google.com/logging/docs/buckets#custom-retention
DEFAULT_RETENTION_DAYS, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 400, 1, 3650
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_ORG_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


class ConfigError(pulumi.RunError):
    """A config value that would fail the deployment later, reported before anything is created."""


@dataclass(frozen=True)
class StackSettings:
    project: str  # the Google Cloud project (gcp:project, or the provider's environment)
    hook_secret: pulumi.Output  # secret: the exact Authorization header value Okta sends
    previous_hook_secret: Optional[pulumi.Output]  # secret, only during a rotation
    events: list
    region: str
    hook_name: str
    function_name: str
    memory: str
    cpu: str
    min_instances: int
    max_instances: int
    concurrency: int
    catch_up: bool
    catch_up_schedule: str  # unix-cron, in UTC
    catch_up_lookback_minutes: int
    # Where the Cloud Scheduler job lives: the stack's region unless Cloud Scheduler does not
    # serve it (a job may call a function in any region).
    catch_up_scheduler_region: str
    alert_email: Optional[str]
    okta_org_url: Optional[str]  # https://<orgName>.<baseUrl>, from the Okta provider's settings
    retention_days: int  # how long the record's log bucket keeps its lines
    deactivation_topic: bool  # a Pub/Sub topic that receives each deactivation line
    # The record's log bucket outlives a destroy and any replacement (Pulumi forgets it instead of
    # deleting it): audit data is the one thing this stack must not lose by accident.
    keep_record_on_destroy: bool

    @functools.cached_property
    def catch_up_gaps(self) -> tuple:
        """(shortest, longest) gap in minutes between two runs of the catch-up schedule, over a
        whole year (computed once)."""
        return cron_gaps_minutes(self.catch_up_schedule)

    @property
    def catch_up_interval_minutes(self) -> int:
        return self.catch_up_gaps[1]


def load_settings() -> StackSettings:
    check_keys()
    # Always okta-event-hook:*, whatever the project is called: `pulumi new` may rename it, and
    # the template's keys keep this namespace.
    config = pulumi.Config(PROJECT)
    try:
        events = config.get_object("events")
    except pulumi.ConfigTypeError:
        events = None  # not JSON: reported by check() below with an example
    else:
        events = DEFAULT_EVENTS if events is None else events
    secrets = {key: _secret(config, key) for key in SECRET_KEYS}
    if secrets["hookSecret"] is None:
        raise pulumi.ConfigMissingError(f"{PROJECT}:hookSecret", secret=True)
    function_name = config.get("functionName") or default_function_name(pulumi.get_stack())
    region = pulumi.Config("gcp").require("region")
    settings = StackSettings(
        project=_gcp_project(),
        hook_secret=secrets["hookSecret"],
        previous_hook_secret=secrets["previousHookSecret"],
        events=events,
        region=region,
        hook_name=config.get("hookName") or function_name,
        function_name=function_name,
        memory=config.get("memory") or "512Mi",
        cpu=config.get("cpu") or "1",
        min_instances=_get_int(config, "minInstances", 1),
        max_instances=_get_int(config, "maxInstances", 10),
        concurrency=_get_int(config, "concurrency", 80),
        catch_up=_get_bool(config, "catchUp", True),
        catch_up_schedule=config.get("catchUpSchedule") or DEFAULT_CATCH_UP_SCHEDULE,
        catch_up_lookback_minutes=_get_int(config, "catchUpLookbackMinutes",
                                           limits.DEFAULT_LOOKBACK_MINUTES),
        catch_up_scheduler_region=config.get("catchUpSchedulerRegion") or region,
        alert_email=config.get("alertEmail"),
        okta_org_url=_okta_org_url(),
        retention_days=_get_int(config, "retentionDays", DEFAULT_RETENTION_DAYS),
        deactivation_topic=_get_bool(config, "deactivationTopic", False),
        keep_record_on_destroy=_get_bool(config, "keepRecordOnDestroy", True),
    )
    check(settings)
    return settings


def check_keys() -> None:
    """Refuse okta-event-hook: keys the program does not read, suggesting the likely one, and
    its settings set under a renamed project's namespace, where the program would not see them."""
    keys = set(pulumi.runtime.config.CONFIG.get()) | set(pulumi.runtime.get_config_env())
    project = pulumi.get_project()
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == project != PROJECT and name in KNOWN_KEYS:
            raise ConfigError(f"{key} is not read: this program's settings are {PROJECT}:* "
                              f"whatever the project is called; set it again as {PROJECT}:{name}")
        if namespace == PROJECT and name not in KNOWN_KEYS:
            close = difflib.get_close_matches(name, sorted(KNOWN_KEYS), n=1)
            hint = f" Did you mean {PROJECT}:{close[0]}?" if close else ""
            raise ConfigError(f"{key} is not a setting of this program.{hint}")


def _secret(config: pulumi.Config, key: str) -> Optional[pulumi.Output]:
    """The value of a secret key as a Pulumi secret; refused if blank or stored in plain text."""
    value = config.get(key)
    if value is None:
        return None
    full_key = f"{PROJECT}:{key}"
    if not value.strip():
        raise ConfigError(f"{full_key} is blank; Okta would send an empty Authorization header")
    if not pulumi.runtime.is_config_secret(full_key):
        raise ConfigError(f"{full_key} is stored in plain text in the stack's file; set it "
                          f"again with `pulumi config set --secret {full_key}`")
    return pulumi.Output.secret(value)


def _gcp_project() -> str:
    """The project as the Google provider finds it: gcp:project, or its environment variables."""
    project = pulumi.Config("gcp").get("project") or next(
        (os.environ[name] for name in ("GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT",
                                       "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT")
         if os.environ.get(name)), None)
    if not project:
        raise ConfigError("gcp:project is not set: `pulumi config set gcp:project <project id>`")
    return project


def _okta_org_url() -> Optional[str]:
    """The org's URL as the Okta provider builds it: from okta:orgName and okta:baseUrl, or the
    provider's environment variables OKTA_ORG_NAME and OKTA_BASE_URL."""
    okta = pulumi.Config("okta")
    name = okta.get("orgName") or os.environ.get("OKTA_ORG_NAME")
    base = okta.get("baseUrl") or os.environ.get("OKTA_BASE_URL")
    return f"https://{name}.{base}".lower() if name and base else None


def cron_gaps_minutes(schedule: str) -> tuple:
    """(shortest, longest) gap in minutes between consecutive runs of a unix-cron schedule, over
    four whole years and into the next (a monthly schedule's longest gap is 31 days, not 28; a
    yearly one's 366 days, across a leap year's February).

    Cron's time-of-day fields (minute, hour) do not depend on its date fields (day of month,
    month, day of week), so a year is walked a day at a time, each matching day running at the
    same times: a few hundred steps instead of one per run.
    """
    minute, hour, *date_fields = schedule.split()
    day = datetime(2026, 1, 1, tzinfo=timezone.utc)
    times = croniter(f"{minute} {hour} * * *", day - timedelta(seconds=1))
    in_a_day = []
    while (moment := times.get_next(datetime)) < day + timedelta(days=1):
        in_a_day.append(moment.hour * 60 + moment.minute)
    days = croniter(f"0 0 {' '.join(date_fields)}", day - timedelta(seconds=1))
    matching = [days.get_next(datetime)]
    while len(matching) < 2 or matching[-1] < day.replace(year=day.year + 4):
        matching.append(days.get_next(datetime))
    within = [later - earlier for earlier, later in zip(in_a_day, in_a_day[1:])]
    across = [(later - earlier).days * 1440 + in_a_day[0] - in_a_day[-1]
              for earlier, later in zip(matching, matching[1:])]
    gaps = within + across
    return min(gaps), max(gaps)


def _get_int(config: pulumi.Config, key: str, default: int) -> int:
    value = config.get_int(key)
    return default if value is None else value


def _get_bool(config: pulumi.Config, key: str, default: bool) -> bool:
    value = config.get_bool(key)
    return default if value is None else value


def check(settings: StackSettings) -> None:
    """Raise ConfigError naming the key for each value Okta or Cloud Run would refuse."""
    events = settings.events
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) and e for e in events)):
        raise ConfigError("okta-event-hook:events must be a non-empty list of event types, "
                          'e.g. ["user.lifecycle.deactivate"]')
    if len(events) > MAX_EVENT_TYPES:
        raise ConfigError(f"okta-event-hook:events lists {len(events)} event types; "
                          f"Okta allows {MAX_EVENT_TYPES} per hook")
    repeated = sorted({e for e in events if events.count(e) > 1})
    if repeated:
        raise ConfigError(f"okta-event-hook:events lists {', '.join(repeated)} more than once")
    if not re.fullmatch(rf"[a-z][a-z0-9-]{{0,{MAX_FUNCTION_NAME - 2}}}[a-z0-9]",
                        settings.function_name):
        raise ConfigError("okta-event-hook:functionName must be lower-case letters, digits and "
                          "hyphens, start with a letter and be at most "
                          f"{MAX_FUNCTION_NAME} characters (the catch-up adds -catch-up)")
    if not 0 <= settings.min_instances <= settings.max_instances or settings.max_instances < 1:
        raise ConfigError("okta-event-hook:minInstances must be between 0 and maxInstances, "
                          "and maxInstances at least 1")
    problem = cloud_run_limits.problem(settings.cpu, settings.memory, settings.concurrency)
    if problem:
        raise ConfigError(problem)
    if settings.alert_email is not None and not _EMAIL.fullmatch(settings.alert_email):
        raise ConfigError("okta-event-hook:alertEmail must be one e-mail address")
    if not MIN_RETENTION_DAYS <= settings.retention_days <= MAX_RETENTION_DAYS:
        raise ConfigError(f"okta-event-hook:retentionDays must be from {MIN_RETENTION_DAYS} to "
                          f"{MAX_RETENTION_DAYS} (Cloud Logging's limits for a log bucket)")
    if settings.catch_up:
        check_catch_up(settings)


def check_catch_up(settings: StackSettings) -> None:
    schedule = settings.catch_up_schedule
    if len(schedule.split()) != 5 or not croniter.is_valid(schedule):
        raise ConfigError("okta-event-hook:catchUpSchedule must be a unix-cron schedule of five "
                          'fields, e.g. "*/15 * * * *" (every 15 minutes, UTC)')
    shortest, interval = settings.catch_up_gaps
    if shortest < limits.MIN_SCHEDULE_MINUTES:
        raise ConfigError(f"okta-event-hook:catchUpSchedule runs {shortest} minute(s) apart; a "
                          "pass may take up to 4, so run it at most every "
                          f"{limits.MIN_SCHEDULE_MINUTES} minutes")
    if interval > MAX_CATCH_UP_INTERVAL_MINUTES:
        raise ConfigError(f"okta-event-hook:catchUpSchedule leaves up to {interval} minutes "
                          "between runs; Cloud Monitoring can watch for a missing pass over at "
                          f"most {MAX_ABSENCE_SECONDS // 60} minutes, so run it at least every "
                          f"{MAX_CATCH_UP_INTERVAL_MINUTES} minutes")
    lookback = settings.catch_up_lookback_minutes
    if not interval < lookback <= limits.MAX_LOOKBACK_MINUTES:
        raise ConfigError(f"okta-event-hook:catchUpLookbackMinutes must exceed the schedule's "
                          f"longest interval ({interval} minutes), so that passes overlap, and "
                          f"be at most {limits.MAX_LOOKBACK_MINUTES} (Cloud Logging stores no "
                          f"entry dated more than {limits.LOGGING_OLDEST_DAYS} days back)")
    if not _REGION.fullmatch(settings.catch_up_scheduler_region):
        raise ConfigError("okta-event-hook:catchUpSchedulerRegion must be a region, e.g. "
                          "us-central1")
    org_url = settings.okta_org_url
    if org_url is None or not _ORG_HOST.fullmatch(org_url.removeprefix("https://")):
        raise ConfigError("the catch-up reads the Okta org at https://<okta:orgName>.<okta:baseUrl>"
                          ": set both (e.g. dev-123456 and okta.com), or okta-event-hook:catchUp "
                          "false")
