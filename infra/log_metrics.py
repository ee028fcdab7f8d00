"""Log-based metrics, and the pause before anything may chart or watch them.

Cloud Monitoring may not know a new log-based metric for a while after it is created; an alert
policy or a dashboard that names it before then fails the first `pulumi up` ("Cannot find
metric(s)"). So each metric comes with a pause, triggered again only if the metric is renamed.
A renamed metric is replaced: the provider's update would create the new name and leave the old
metric behind, never deleted (hashicorp/terraform-provider-google#18144).
https://cloud.google.com/logging/docs/logs-based-metrics
"""

import pulumi
import pulumiverse_time as time
from pulumi_gcp import logging

VISIBLE_AFTER = "120s"


def log_metric(key: str, name: str, description: str, entries: pulumi.Input[str],
               parent: pulumi.Resource, value_field: str | None = None,
               labels: dict | None = None) -> tuple:
    """(metric, pause): a counter of `entries` (a distribution of `value_field` when given), with
    `labels` ({label: field}) extracted from each entry."""
    descriptor = logging.MetricMetricDescriptorArgs(
        metric_kind="DELTA", value_type="DISTRIBUTION" if value_field else "INT64",
        unit="s" if value_field else "1",
        labels=[logging.MetricMetricDescriptorLabelArgs(key=label, value_type="STRING")
                for label in labels or {}] or None)
    metric = logging.Metric(f"{key}-metric", logging.MetricArgs(
        name=name, description=description, filter=entries, metric_descriptor=descriptor,
        value_extractor=f"EXTRACT({value_field})" if value_field else None,
        # Seconds behind, from a minute to a month: 20 buckets, each twice the last.
        bucket_options=logging.MetricBucketOptionsArgs(
            exponential_buckets=logging.MetricBucketOptionsExponentialBucketsArgs(
                num_finite_buckets=20, growth_factor=2, scale=60)) if value_field else None,
        label_extractors={label: f"EXTRACT({field})" for label, field in (labels or {}).items()}
        or None,
    ), pulumi.ResourceOptions(parent=parent, replace_on_changes=["name"]))
    pause = time.Sleep(f"{key}-metric-visible", time.SleepArgs(
        create_duration=VISIBLE_AFTER, triggers={"metric": metric.name}),
        pulumi.ResourceOptions(parent=parent))
    return metric, pause
