"""The deactivation record where people use it: kept for as long as audits need it, queryable in
SQL, and (with deactivationTopic) published for whoever acts on a deactivation.

- A log bucket of the stack's own, kept `retentionDays`, with Log Analytics, and a sink that
  routes the functions' lines of record into it. The _Default bucket keeps its own copy for its
  30 days. Cloud Logging's insertId de-duplication applies inside a log bucket, so the record
  shows one line per deactivation however many times it was written.
  https://cloud.google.com/logging/docs/buckets , https://cloud.google.com/logging/docs/routing/overview
- A saved Log Analytics query listing deactivations: user, login, time, actor and source.
- A Pub/Sub topic and a sink into it, the sink's writer allowed to publish to that topic only.
  Sinks do not de-duplicate: a consumer must treat the LogEntry's insertId as its key.
"""

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random
import pulumiverse_time as time
from pulumi_gcp import logging, pubsub

from log_filters import (
    DELIVERY_FAILED_ACTION,
    HOOK_STOPPED_ACTIONS,
    actions_filter,
    both,
    services_filter,
)
from stack_settings import StackSettings

LOCATION = "global"  # where Log Analytics is available for every project
# What `deactivationLogCommand` shows of each deactivation: when, who, their login, who did it,
# and which function wrote it (the hook's service or the catch-up's). gcloud's --format.
RECORD_TABLE = ("table(timestamp, jsonPayload.displayName, jsonPayload.login, "
                "jsonPayload.actorLogin, resource.labels.service_name)")
# The functions' lines of record: what the record keeps.
RECORD_ACTIONS = ("user.deactivated", DELIVERY_FAILED_ACTION, *HOOK_STOPPED_ACTIONS,
                  "okta.catch_up.pass")


def deactivations_sql(project: str, bucket_id: str) -> str:
    """Log Analytics SQL: each deactivated user once, newest first. Rows with the same insertId
    (the hook's and the catch-up's line for one event) are one: the first received names the
    source. The catch-up's service ends "-catchup" (names.service_name); lines kept from a
    deployment on Cloud Functions came from "<functionName>-catch-up"."""
    return f"""-- Okta deactivations recorded by okta-event-hook: one row per user and event
SELECT
  timestamp AS deactivated_at,
  JSON_VALUE(json_payload.displayName) AS user_name,
  JSON_VALUE(json_payload.login) AS login,
  JSON_VALUE(json_payload.userId) AS user_id,
  JSON_VALUE(json_payload.actorLogin) AS deactivated_by,
  IF(REGEXP_CONTAINS(JSON_VALUE(resource.labels.service_name), r'-catch-?up$'), 'catch-up',
     'hook') AS source,
  JSON_VALUE(json_payload.uuid) AS okta_event_uuid
FROM `{project}.{LOCATION}.{bucket_id}._AllLogs`
WHERE JSON_VALUE(json_payload.action) = 'user.deactivated'
QUALIFY ROW_NUMBER() OVER (PARTITION BY insert_id ORDER BY receive_timestamp) = 1
ORDER BY deactivated_at DESC
"""


class Record(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, service_names: list, apis: list,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:Record", name, None, opts)
        fn, project = settings.function_name, settings.project
        child = pulumi.ResourceOptions(parent=self, depends_on=apis)

        # The bucket's id forces its replacement, so nothing a user renames goes into it (not the
        # function's name, not the stack's): the time this stack first created it and random
        # bytes drawn then. Two stacks created in the same second in one project would otherwise
        # share a bucket: the provider's create adopts a bucket that already exists. Both values
        # are new when a destroyed stack comes up again, clear of its old bucket, whose id Cloud
        # Logging holds for 7 days after a delete.
        created = time.Static("record-created", opts=pulumi.ResourceOptions(parent=self))
        drawn = random.RandomId("record-bucket-suffix", random.RandomIdArgs(byte_length=4),
                                pulumi.ResourceOptions(parent=self))
        bucket_id = pulumi.Output.format("okta-event-hook-record-{0}-{1}", created.unix, drawn.hex)
        # By default Pulumi forgets the bucket rather than delete it, on destroy and on any
        # replacement: the lines stay in Google Cloud (docs/deploying.md, Tearing down). The id is
        # taken once, at creation: ignore_changes keeps every stack's own, those created before
        # the random part (okta-event-hook-record-<unix>) included. Whatever reads it below reads
        # the bucket's, not the formula's.
        kept = pulumi.ResourceOptions(parent=self, depends_on=apis, ignore_changes=["bucketId"],
                                      retain_on_delete=settings.keep_record_on_destroy)
        self.bucket = logging.ProjectBucketConfig("record-bucket", logging.ProjectBucketConfigArgs(
            project=project,
            location=LOCATION,
            bucket_id=bucket_id,
            retention_days=settings.retention_days,
            enable_analytics=True,  # SQL in Log Analytics
            description=f"Okta deactivations and the catch-up's record ({fn}, okta-event-hook)",
        ), kept)

        entries = both(services_filter(service_names), actions_filter(RECORD_ACTIONS))
        # A log bucket of the same project needs no grant for the sink's writer.
        self.sink = logging.ProjectSink("record-sink", logging.ProjectSinkArgs(
            name=f"{fn}-record",
            project=project,
            destination=pulumi.Output.concat("logging.googleapis.com/", self.bucket.id),
            filter=entries,
            unique_writer_identity=True,
            description="Routes okta-event-hook's lines of record to its log bucket",
        ), child)

        self.query = logging.SavedQuery("deactivations-query", logging.SavedQueryArgs(
            name=f"{fn}-deactivations",
            display_name=f"{fn}: Okta deactivations",
            description="Who was deactivated, when, by whom, via the hook or the catch-up",
            parent=f"projects/{project}",
            location=LOCATION,
            visibility="SHARED",
            ops_analytics_query=logging.SavedQueryOpsAnalyticsQueryArgs(
                sql_query_text=self.bucket.bucket_id.apply(
                    lambda bucket: deactivations_sql(project, bucket))),
        ), pulumi.ResourceOptions(parent=self, depends_on=[self.bucket]))

        self.topic = None
        if settings.deactivation_topic:
            self.topic = self._topic(settings, service_names, apis)
        self.register_outputs({"bucket": self.bucket.id,
                               "topic": self.topic.id if self.topic else None})

    def _topic(self, settings: StackSettings, service_names: list, apis: list) -> pubsub.Topic:
        """A topic that receives each deactivation line, from a sink allowed to publish there."""
        fn, project = settings.function_name, settings.project
        pubsub_api = gcp.projects.Service("api-pubsub", gcp.projects.ServiceArgs(
            service="pubsub.googleapis.com", disable_on_destroy=False,
        ), pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, depends_on=[*apis, pubsub_api])
        topic = pubsub.Topic("deactivation-topic", pubsub.TopicArgs(
            name=f"{fn}-deactivations", project=project,
            labels={"purpose": "okta-deactivations"}), child)
        sink = logging.ProjectSink("deactivation-sink", logging.ProjectSinkArgs(
            name=f"{fn}-deactivations",
            project=project,
            destination=pulumi.Output.concat("pubsub.googleapis.com/", topic.id),
            filter=both(services_filter(service_names), actions_filter(["user.deactivated"])),
            # The writer is the project's Logging service agent, which every sink of the project
            # with a unique writer shares (pulumi-gcp ProjectSink: "a service agent shared by
            # sinks with the same parent"): the grant below lets any such sink publish here, so
            # consumers check each message's logName and resource (docs/operating.md).
            unique_writer_identity=True,
            description="Publishes okta-event-hook's deactivation lines",
        ), child)
        pubsub.TopicIAMMember("deactivation-topic-publisher", pubsub.TopicIAMMemberArgs(
            project=project, topic=topic.name, role="roles/pubsub.publisher",
            member=sink.writer_identity), pulumi.ResourceOptions(parent=self))
        return topic
