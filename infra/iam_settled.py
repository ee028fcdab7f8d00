"""A pause after IAM grants, before the resources that use them.

Google: a grant usually applies within two minutes, and can take seven or more
(https://cloud.google.com/iam/docs/access-change-propagation). A build that starts before its
account's role applies fails, and so does a revision whose account cannot yet read its secret.
The pause runs again whenever the set of grants changes (a rotation adding the previous secret's
accessor, say), and not on other updates. The receiver becoming public is covered by the
readiness gate (endpoint_ready.py), which waits for the receiver itself to answer.
"""

import pulumi
import pulumiverse_time as time

SETTLE = "60s"  # the Google provider's own Cloud Functions example waits 60 s after granting


def iam_settled(name: str, grants: list, parent: pulumi.Resource) -> time.Sleep:
    ids = pulumi.Output.all(*[grant.id for grant in grants]).apply(
        lambda values: ",".join(sorted(values)))
    return time.Sleep(name, time.SleepArgs(create_duration=SETTLE, triggers={"grants": ids}),
                      pulumi.ResourceOptions(parent=parent, depends_on=grants))
