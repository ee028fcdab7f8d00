"""The Cloud Monitoring dashboard an operator opens first: what was recorded, what went wrong, how
far behind the catch-up is, how the receiver answers, and the state of every alert policy.

Charts of log lines use log-based metrics made here (with the pause before Monitoring knows them);
the receiver's requests and latency are Cloud Run's own metrics
(https://cloud.google.com/run/docs/monitoring). The layout is a 48-column mosaic of half-width
tiles. https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards

The JSON holds no empty list and no zero: the API leaves both out of what it returns, and the
provider compares what it sent with what it reads back, so either would show as a change on every
`pulumi up` (hashicorp/terraform-provider-google#16173).
"""

import json

import pulumi
from pulumi_gcp import monitoring

from log_filters import actions_filter, both, services_filter
from log_metrics import log_metric
from stack_settings import StackSettings

COLUMNS, TILE_WIDTH, TILE_HEIGHT = 48, 24, 16
# Cloud Run's metrics the dashboard charts (documented at the link above).
CLOUD_RUN_METRICS = ("run.googleapis.com/request_count", "run.googleapis.com/request_latencies")


def chart(title: str, metric_filter: str, aligner: str, period: str = "300s",
          group_by: tuple = (), reducer: str = "REDUCE_SUM", plot: str = "LINE") -> dict:
    """An xyChart widget of one metric."""
    aggregation = {"alignmentPeriod": period, "perSeriesAligner": aligner}
    if reducer:
        aggregation["crossSeriesReducer"] = reducer
    if group_by:
        aggregation["groupByFields"] = list(group_by)
    return {"title": title, "xyChart": {"dataSets": [{
        "timeSeriesQuery": {"timeSeriesFilter": {"filter": metric_filter,
                                                 "aggregation": aggregation}},
        "plotType": plot}]}}


def user_metric(name: str) -> str:
    return f'metric.type="logging.googleapis.com/user/{name}" resource.type="cloud_run_revision"'


def run_metric(metric: str, service: str) -> str:
    return (f'metric.type="{metric}" resource.type="cloud_run_revision" '
            f'resource.label."service_name"="{service}"')


def layout(widgets: list) -> dict:
    """Widgets two by two, in order (a position of 0 left out, as the API leaves it out)."""
    per_row = COLUMNS // TILE_WIDTH
    tiles = []
    for i, widget in enumerate(widgets):
        position = {"xPos": (i % per_row) * TILE_WIDTH, "yPos": (i // per_row) * TILE_HEIGHT}
        tiles.append({**{k: v for k, v in position.items() if v}, "width": TILE_WIDTH,
                      "height": TILE_HEIGHT, "widget": widget})
    return {"columns": COLUMNS, "tiles": tiles}


def dashboard_json(settings: StackSettings, metric_names: dict, policies: list) -> str:
    """The dashboard, given the log-based metrics' names by key and the policies' (name, title)."""
    fn = settings.function_name
    widgets = [
        # The catch-up writes again every deactivation it reads, the hook's included: a user
        # deactivated while the hook works shows under both functions (one entry in queries).
        chart("Deactivation lines written per hour, by function (the catch-up repeats the hook's)",
              user_metric(metric_names["deactivations"]), "ALIGN_SUM", "3600s",
              ("metric.label.service",), plot="STACKED_BAR"),
        chart("Deliveries refused for their credential (401)",
              user_metric(metric_names["refused"]), "ALIGN_SUM"),
        chart("Receiver requests per second, by response class",
              run_metric(CLOUD_RUN_METRICS[0], fn), "ALIGN_RATE", "60s",
              ("metric.label.response_code_class",)),
        chart("Receiver latency, 99th percentile (ms)",
              run_metric(CLOUD_RUN_METRICS[1], fn), "ALIGN_PERCENTILE_99", "60s", reducer=""),
    ]
    if settings.catch_up:
        widgets[2:2] = [
            chart("Failed deliveries Okta reports (found by the catch-up)",
                  user_metric(metric_names["delivery-failures"]), "ALIGN_SUM", "900s"),
            chart("How far behind the catch-up is (seconds, worst pass)",
                  user_metric(metric_names["behind"]), "ALIGN_PERCENTILE_99", "900s",
                  reducer="REDUCE_MAX"),
        ]
    widgets += [{"title": title, "alertChart": {"name": name}} for name, title in policies]
    return json.dumps({"displayName": f"{fn}: Okta event hook",
                       "mosaicLayout": layout(widgets)}, indent=1, sort_keys=True)


class Dashboard(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, service_names: list, receiver_name,
                 policies: list, opts: pulumi.ResourceOptions | None = None):
        super().__init__("okta-event-hook:gcp:Dashboard", name, None, opts)
        fn = settings.function_name
        services = services_filter(service_names)
        wanted = {
            "deactivations": (both(services, actions_filter(["user.deactivated"])), None,
                              {"service": "resource.labels.service_name"}),
            "refused": (pulumi.Output.format(
                '{0} AND jsonPayload.status=401 AND jsonPayload.method="POST"',
                services_filter([receiver_name])), None, None),
        }
        if settings.catch_up:
            wanted["delivery-failures"] = (
                both(services, actions_filter(["okta.event_hook.delivery_failed"])), None, None)
            wanted["behind"] = (
                both(services, actions_filter(["okta.catch_up.pass", "okta.catch_up.failed"])),
                "jsonPayload.behindSeconds", None)
        metrics, pauses = {}, []
        for key, (entries, value_field, labels) in wanted.items():
            metric, pause = log_metric(f"dashboard-{key}", f"{fn}-{key}",
                                       f"{fn}: {key.replace('-', ' ')} (okta-event-hook)",
                                       entries, self, value_field=value_field, labels=labels)
            metrics[key] = metric.name
            pauses.append(pause)
        charted = pulumi.Output.all(
            metrics=metrics, policies=[pulumi.Output.all(p.name, p.display_name)
                                       for p in policies])
        self.dashboard = monitoring.Dashboard("dashboard", monitoring.DashboardArgs(
            dashboard_json=charted.apply(lambda resolved: dashboard_json(
                settings, resolved["metrics"], resolved["policies"])),
        ), pulumi.ResourceOptions(parent=self, depends_on=pauses))
        self.register_outputs({"dashboard": self.dashboard.id})
