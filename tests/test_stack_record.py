"""The lasting record under mocks: the log bucket and its sink, the saved SQL query, the dashboard,
the deactivation topic, and the queries the stack exports."""

import json
import re
import sys

import pulumi
import pytest
from google.cloud.monitoring_dashboard_v1.types import Dashboard
from google.protobuf import json_format

from stack_harness import CHANNEL, GCP_PROJECT, INFRA, METRIC, POLICY, deploy

sys.path.insert(0, str(INFRA))
from dashboard import CLOUD_RUN_METRICS, COLUMNS  # noqa: E402
from names import service_name  # noqa: E402
from record import RECORD_ACTIONS  # noqa: E402

BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
SINK = "gcp:logging/projectSink:ProjectSink"
QUERY = "gcp:logging/savedQuery:SavedQuery"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
TOPIC = "gcp:pubsub/topic:Topic"
PUBLISHER = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SERVICES = ('resource.labels.service_name=("okta-event-hook-dev-hook" OR '
            '"okta-event-hook-dev-catchup")')
BUCKET_ID = "okta-event-hook-record-1764460800-5f3a9c1e"  # the mocks' time and random bytes
BUCKET_PATH = f"projects/{GCP_PROJECT}/locations/global/buckets/{BUCKET_ID}"


# --- retention ----------------------------------------------------------------------------------

def test_the_record_bucket_keeps_400_days_with_log_analytics(stack):
    bucket = stack.one(BUCKET).inputs
    assert (bucket["project"], bucket["location"], bucket["retentionDays"]) == (
        GCP_PROJECT, "global", 400)
    assert bucket["enableAnalytics"] is True
    # A new id whenever the stack creates it anew: a destroyed bucket holds its id for 7 days.
    assert bucket["bucketId"] == BUCKET_ID
    created = stack.one("time:index/static:Static", "record-created")
    assert created.inputs == {} and stack.one(BUCKET).urn != created.urn


def test_two_stacks_created_in_the_same_second_get_buckets_of_their_own(stack):
    """The provider's create adopts a bucket that exists (resource_logging_project_bucket_config.go
    fetches the id first), so the id holds 32 random bits of the stack's own: drawn once, with
    no keepers, nothing a user names or renames."""
    drawn = stack.one("random:index/randomId:RandomId", "record-bucket-suffix")
    assert drawn.inputs == {"byteLength": 4} and drawn.urn != stack.one(BUCKET).urn
    assert stack.one(BUCKET).inputs["bucketId"].endswith("-5f3a9c1e")


def test_a_stack_keeps_the_bucket_id_it_was_created_with(monkeypatch, tmp_path, stack):
    """Stacks created before the random part have okta-event-hook-record-<unix>. The engine keeps
    the state's id (ignore_changes), and everything that names the bucket reads that id, not the
    formula's: the sink, the saved SQL, both outputs."""
    assert stack.one(BUCKET).options["ignoreChanges"] == ["bucketId"]
    old = "okta-event-hook-record-1700000000"
    existing = deploy(monkeypatch, tmp_path, kept={"record-bucket": {"bucketId": old}})
    assert existing.one(BUCKET).inputs["bucketId"] == BUCKET_ID  # the engine ignores it
    assert existing.one(SINK).inputs["destination"].endswith(f"/buckets/{old}")
    sql = existing.one(QUERY).inputs["opsAnalyticsQuery"]["sqlQueryText"]
    assert f".global.{old}._AllLogs`" in sql
    assert existing.outputs["recordBucket"] == (old, False)
    assert f"--bucket {old} " in existing.outputs["deactivationLogCommand"][0]
    assert BUCKET_ID not in json.dumps({k: v for k, (v, _) in existing.outputs.items()})


def test_renaming_the_function_or_the_stack_keeps_the_record_bucket(monkeypatch, tmp_path):
    """bucket_id forces a replacement, and a replaced bucket's lines would be gone: nothing a
    user renames is part of it."""
    renamed = deploy(monkeypatch, tmp_path, functionName="okta-hook-renamed")
    assert renamed.one(BUCKET).inputs["bucketId"] == BUCKET_ID
    assert deploy(monkeypatch, tmp_path, stack="prod").one(BUCKET).inputs["bucketId"] == BUCKET_ID


def test_the_record_outlives_a_destroy_unless_the_user_says_otherwise(monkeypatch, tmp_path,
                                                                    stack):
    assert stack.one(BUCKET).options["retainOnDelete"] is True
    deletable = deploy(monkeypatch, tmp_path, keepRecordOnDestroy=False)
    assert not deletable.one(BUCKET).options.get("retainOnDelete")


def test_a_renamed_log_metric_is_replaced_not_left_behind(stack):
    metrics = stack.by_type[METRIC]
    assert metrics and all(m.options["replaceOnChanges"] == ["name"] for m in metrics)


@pytest.mark.parametrize("days", [1, 3650])
def test_cloud_logging_s_retention_limits_are_accepted(monkeypatch, tmp_path, days):
    stack = deploy(monkeypatch, tmp_path, retentionDays=days)
    assert stack.one(BUCKET).inputs["retentionDays"] == days


@pytest.mark.parametrize("days", [0, 3651, "a year"])
def test_a_retention_outside_them_is_refused_before_anything_is_created(monkeypatch, tmp_path,
                                                                        days):
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, retentionDays=days)
    assert "okta-event-hook:retentionDays" in str(error.value)


def test_the_sink_routes_the_lines_of_record_of_both_functions_into_it(stack):
    [sink] = stack.by_type[SINK]
    assert sink.inputs["destination"] == f"logging.googleapis.com/{BUCKET_PATH}"
    assert sink.inputs["uniqueWriterIdentity"] is True
    log_filter = sink.inputs["filter"]
    assert SERVICES in log_filter and 'resource.type="cloud_run_revision"' in log_filter
    assert "jsonPayload.action=(" + " OR ".join(f'"{a}"' for a in RECORD_ACTIONS) + ")" in \
        log_filter
    assert RECORD_ACTIONS == ("user.deactivated", "okta.event_hook.delivery_failed",
                              "okta.event_hook.deactivated", "okta.event_hook.deleted",
                              "okta.event_hook.verification_failed", "okta.catch_up.pass")


# --- SQL ----------------------------------------------------------------------------------------

def test_a_saved_query_lists_deactivations_with_user_time_actor_and_source(stack):
    query = stack.one(QUERY).inputs
    assert (query["parent"], query["location"], query["visibility"]) == (
        f"projects/{GCP_PROJECT}", "global", "SHARED")
    sql = query["opsAnalyticsQuery"]["sqlQueryText"]
    assert f"FROM `{GCP_PROJECT}.global.{BUCKET_ID}._AllLogs`" in sql
    for column in ("deactivated_at", "user_name", "login", "deactivated_by", "source"):
        assert re.search(rf"\bAS {column}\b", sql), column
    assert "JSON_VALUE(json_payload.actorLogin)" in sql
    assert "WHERE JSON_VALUE(json_payload.action) = 'user.deactivated'" in sql
    assert "PARTITION BY insert_id" in sql  # the hook's and the catch-up's line are one row
    assert stack.one(BUCKET).urn in stack.one(QUERY).dependencies
    # Logging > Log Analytics > Saved: the docs send readers to it by this output.
    assert stack.outputs["deactivationsQuery"] == ("okta-event-hook-dev-deactivations", False)


def test_the_operators_guide_shows_the_same_sql():
    from record import deactivations_sql

    guide = (INFRA.parent / "docs" / "operating.md").read_text()
    assert deactivations_sql("PROJECT", "BUCKET") in guide


# --- the dashboard ------------------------------------------------------------------------------

def dashboard_of(stack) -> dict:
    return json.loads(stack.one(DASHBOARD).inputs["dashboardJson"])


@pytest.mark.parametrize("catch_up", [True, False])
def test_the_dashboard_is_valid_for_the_monitoring_api(monkeypatch, tmp_path, catch_up):
    """Parsed by the API's own protobuf message: an unknown field, a misspelt enum or a wrong
    type fails here as it would at Google."""
    stack = deploy(monkeypatch, tmp_path, catchUp=catch_up)
    document = dashboard_of(stack)
    json_format.Parse(json.dumps(document), Dashboard.pb()(), ignore_unknown_fields=False)
    tiles = document["mosaicLayout"]["tiles"]
    cells = set()
    for tile in tiles:
        x, y = tile.get("xPos", 0), tile.get("yPos", 0)  # 0 is left out, as the API does
        assert x + tile["width"] <= COLUMNS == document["mosaicLayout"]["columns"]
        area = {(i, j) for i in range(x, x + tile["width"])
                for j in range(y, y + tile["height"])}
        assert not area & cells  # no tile hides another
        cells |= area
        assert tile["widget"]["title"]


@pytest.mark.parametrize("catch_up", [True, False])
def test_the_dashboard_json_holds_nothing_the_api_leaves_out(monkeypatch, tmp_path, catch_up):
    """An empty list or a zero the API does not return is a change on every `pulumi up`
    (hashicorp/terraform-provider-google#16173): none may be sent."""
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            if not value:
                found.append(path)
            for number, item in enumerate(value):
                walk(item, f"{path}[{number}]")
        elif value == 0 and not isinstance(value, bool) or value in ("", None):
            found.append(path)

    walk(dashboard_of(deploy(monkeypatch, tmp_path, catchUp=catch_up)), "")
    assert found == []


def charted_metrics(document: dict) -> list:
    return [re.search(r'metric.type="([^"]+)"', data_set["timeSeriesQuery"]["timeSeriesFilter"]
                      ["filter"]).group(1)
            for tile in document["mosaicLayout"]["tiles"]
            for data_set in tile["widget"].get("xyChart", {}).get("dataSets", [])]


def test_every_chart_is_of_a_metric_the_stack_creates_or_one_of_cloud_run_s(stack):
    created = {f"logging.googleapis.com/user/{m.inputs['name']}" for m in stack.by_type[METRIC]}
    charted = charted_metrics(dashboard_of(stack))
    assert set(charted) <= created | set(CLOUD_RUN_METRICS)
    assert set(CLOUD_RUN_METRICS) <= set(charted)  # the receiver's requests and latency
    assert len(charted) == 6
    for name in ("deactivations", "refused", "delivery-failures", "behind"):
        assert f"logging.googleapis.com/user/okta-event-hook-dev-{name}" in charted


def test_the_dashboard_waits_until_monitoring_knows_its_metrics(stack):
    pauses = [r for r in stack.by_type["time:index/sleep:Sleep"]
              if r.name.startswith("dashboard-")]
    assert len(pauses) == 4
    dependencies = stack.one(DASHBOARD).dependencies
    assert all(pause.urn in dependencies for pause in pauses)


def test_deactivations_are_charted_per_hour_by_function(stack):
    [deactivations] = [tile["widget"] for tile in dashboard_of(stack)["mosaicLayout"]["tiles"]
                       if "Deactivation lines" in tile["widget"]["title"]]
    # The catch-up writes the hook's lines again: the title says lines written, not users.
    assert deactivations["title"] == ("Deactivation lines written per hour, by function (the "
                                      "catch-up repeats the hook's)")
    aggregation = deactivations["xyChart"]["dataSets"][0]["timeSeriesQuery"][
        "timeSeriesFilter"]["aggregation"]
    assert aggregation == {"alignmentPeriod": "3600s", "perSeriesAligner": "ALIGN_SUM",
                           "crossSeriesReducer": "REDUCE_SUM",
                           "groupByFields": ["metric.label.service"]}
    metric = stack.one(METRIC, "dashboard-deactivations-metric").inputs
    assert metric["labelExtractors"] == {"service": "EXTRACT(resource.labels.service_name)"}
    assert 'jsonPayload.action=("user.deactivated")' in metric["filter"]


def test_how_far_behind_is_a_distribution_of_behind_seconds(stack):
    metric = stack.one(METRIC, "dashboard-behind-metric").inputs
    assert metric["valueExtractor"] == "EXTRACT(jsonPayload.behindSeconds)"
    assert metric["metricDescriptor"]["valueType"] == "DISTRIBUTION"
    assert 'jsonPayload.action=("okta.catch_up.pass" OR "okta.catch_up.failed")' in \
        metric["filter"]


def test_every_alert_policy_s_state_is_on_the_dashboard(stack):
    shown = {tile["widget"]["alertChart"]["name"]
             for tile in dashboard_of(stack)["mosaicLayout"]["tiles"]
             if "alertChart" in tile["widget"]}
    assert shown == {f"projects/{GCP_PROJECT}/alertPolicies/{p.name}"
                     for p in stack.by_type[POLICY]}
    assert len(shown) == 7


def test_the_charts_the_operators_guide_reads_are_on_the_dashboard(stack):
    """What the guide says to look at when Okta stops delivering for the day (no alert fires
    then) must be the dashboard's own titles and series labels."""
    guide = (INFRA.parent / "docs" / "operating.md").read_text()
    section = guide.split("## When Okta stops delivering for the day")[1].split("\n## ")[0]
    quoted = re.findall(r'\*\*"([^"]+)"\*\*|"(How far[^"]+)"', section)
    titles = {tile["widget"]["title"] for tile in dashboard_of(stack)["mosaicLayout"]["tiles"]}
    named = [bold or plain for bold, plain in quoted]
    assert len(named) == 3
    for name in named:
        assert any(title.startswith(name) for title in titles), name
    for role in ("hook", "catchup"):  # the series are labelled by service
        assert f"`{service_name('<fn>', role)}`" in section


def test_the_dashboard_s_link_is_an_output(stack):
    assert stack.outputs["dashboardUrl"] == (
        "https://console.cloud.google.com/monitoring/dashboards/builder/dashboard-3f2a9c"
        f"?project={GCP_PROJECT}", False)


# --- the topic ----------------------------------------------------------------------------------

def test_no_topic_by_default(stack):
    assert TOPIC not in stack.by_type and PUBLISHER not in stack.by_type
    assert [s.name for s in stack.by_type[SINK]] == ["record-sink"]
    assert "deactivationTopic" not in stack.outputs


def test_a_deactivation_topic_gets_each_deactivation_line_and_nothing_else(monkeypatch,
                                                                          tmp_path):
    stack = deploy(monkeypatch, tmp_path, deactivationTopic=True)
    topic = stack.one(TOPIC).inputs
    assert topic["name"] == "okta-event-hook-dev-deactivations"
    sink = stack.one(SINK, "deactivation-sink").inputs
    assert sink["destination"] == (
        f"pubsub.googleapis.com/projects/{GCP_PROJECT}/topics/okta-event-hook-dev-deactivations")
    assert sink["filter"].endswith('AND (jsonPayload.action=("user.deactivated"))')
    assert SERVICES in sink["filter"] and sink["uniqueWriterIdentity"] is True
    # The sink's own writer may publish to this topic, and to nothing else.
    [publisher] = stack.by_type[PUBLISHER]
    assert publisher.inputs == {
        "project": GCP_PROJECT, "topic": "okta-event-hook-dev-deactivations",
        "role": "roles/pubsub.publisher",
        "member": "serviceAccount:service-123456789@gcp-sa-logging.iam.gserviceaccount.com"}
    assert stack.one("gcp:projects/service:Service", "api-pubsub").urn in \
        stack.one(TOPIC).dependencies
    assert stack.outputs["deactivationTopic"] == (
        f"projects/{GCP_PROJECT}/topics/okta-event-hook-dev-deactivations", False)


# --- what the stack exports, and review findings ------------------------------------------------

def test_the_exported_query_covers_the_hook_and_the_catch_up(stack):
    query, secret = stack.outputs["deactivationLogQuery"]
    assert not secret
    assert query == (f'resource.type="cloud_run_revision" AND {SERVICES} AND '
                     '(jsonPayload.action=("user.deactivated"))')
    command, _ = stack.outputs["deactivationLogCommand"]
    assert command == (f"gcloud logging read '{query}' --project {GCP_PROJECT} --bucket "
                       f"{BUCKET_ID} --location global --view _AllLogs --freshness 400d "
                       "--limit 50 --format "
                       "'table(timestamp, jsonPayload.displayName, jsonPayload.login, "
                       "jsonPayload.actorLogin, resource.labels.service_name)'")
    # A table a person reads (who, when, by whom, which function), as the operator's guide says.
    guide = (INFRA.parent / "docs" / "operating.md").read_text().replace(" \\\n  ", " ")
    assert command.split(" --view ")[1].replace("400d", "RETENTIONd") in guide


def test_the_alert_e_mail_channel_waits_for_the_monitoring_api(monkeypatch, tmp_path):
    stack = deploy(monkeypatch, tmp_path, alertEmail="oncall@example.com")
    channel = stack.one(CHANNEL)
    api = stack.one("gcp:projects/service:Service", "api-monitoring")
    assert api.urn in channel.dependencies


def test_exactly_300_event_types_are_accepted(monkeypatch, tmp_path):
    events = [f"user.custom.event{i}" for i in range(300)]
    assert deploy(monkeypatch, tmp_path, events=events).one(
        "okta:index/eventHook:EventHook").inputs["events"] == events
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, events=[*events, "user.custom.event300"])
    assert "lists 301 event types; Okta allows 300 per hook" in str(error.value)


@pytest.mark.parametrize("variable", ["GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                                      "CLOUDSDK_CORE_PROJECT"])
def test_the_project_may_come_from_any_variable_the_google_provider_reads(monkeypatch, tmp_path,
                                                                          variable):
    for name in ("GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                 "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "from-the-environment")
    stack = deploy(monkeypatch, tmp_path, **{"gcp:project": None})
    assert stack.one(BUCKET).inputs["project"] == "from-the-environment"


def test_a_missing_project_is_a_config_error(monkeypatch, tmp_path):
    for name in ("GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT",
                 "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, **{"gcp:project": None})
    assert "gcp:project is not set" in str(error.value)


def test_settings_keep_their_namespace_when_pulumi_new_renames_the_project(monkeypatch,
                                                                          tmp_path):
    stack = deploy(monkeypatch, tmp_path, project="acme-offboarding", retentionDays=30)
    assert stack.one(BUCKET).inputs["retentionDays"] == 30  # okta-event-hook:retentionDays
    with pytest.raises(pulumi.RunError) as error:
        deploy(monkeypatch, tmp_path, project="acme-offboarding",
               **{"acme-offboarding:retentionDays": 30})
    assert str(error.value) == (
        "acme-offboarding:retentionDays is not read: this program's settings are "
        "okta-event-hook:* whatever the project is called; set it again as "
        "okta-event-hook:retentionDays")


def test_the_documents_count_the_resources_pulumi_up_creates(monkeypatch, tmp_path):
    """Pulumi's summary counts every registration: resources, this program's components and the
    stack itself."""
    counts = {name: len(deploy(monkeypatch, tmp_path, **config).registrations)
              for name, config in (("defaults", {}), ("no catch-up", {"catchUp": False}),
                                   ("topic", {"deactivationTopic": True}))}
    assert counts == {"defaults": 77, "no catch-up": 45, "topic": 81}
    deploying = (INFRA.parent / "docs" / "deploying.md").read_text()
    assert "counts **77**" in deploying
    assert "45 with `catchUp: false`, 81 with\n`deactivationTopic: true`" in deploying
    assert "77 resources in\nPulumi's summary" in (INFRA.parent / "README.md").read_text()


def test_the_record_bucket_output_is_the_id_users_type(stack):
    """SQL (PROJECT.global.BUCKET._AllLogs) and `gcloud logging buckets delete BUCKET_ID` want the
    bucket's id; the provider's resource id is its whole path."""
    assert stack.outputs["recordBucket"] == (BUCKET_ID, False)
