"""Command line: play Okta's side of the event hook protocol against a receiver.

    python -m okta_simulator verify URL
    python -m okta_simulator deliver URL [--user NAME --login LOGIN]... [--count N] [--event-type T]
    python -m okta_simulator replay URL FILE
    python -m okta_simulator preview URL
    python -m okta_simulator smoke URL

The hook secret (the exact Authorization header value) comes from --secret or OKTA_HOOK_SECRET and
is never printed. Exit status: 0 when Okta would count the exchange as done, 1 when it would not,
2 for a usage error.
"""

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from okta_simulator import okta_rules, payloads

DEFAULT_USER = ("John Doe", "john.doe@example.com")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    secret = args.secret or os.environ.get("OKTA_HOOK_SECRET", "")
    if not secret.strip():
        print("okta_simulator: no hook secret: pass --secret or set OKTA_HOOK_SECRET",
              file=sys.stderr)
        return 2
    return args.command(args, secret.strip())


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m okta_simulator", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--secret", help="the Authorization header value Okta sends "
                                      "(default: $OKTA_HOOK_SECRET)")
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    verify = commands.add_parser("verify", help="send Okta's one-time verification challenge")
    verify.add_argument("url")
    verify.set_defaults(command=run_verify)

    deliver = commands.add_parser("deliver", help="POST an Okta-shaped event hook delivery")
    deliver.add_argument("url")
    deliver.add_argument("--user", action="append", default=[], metavar="NAME",
                         help="display name of a deactivated user (repeatable)")
    deliver.add_argument("--login", action="append", default=[], metavar="LOGIN",
                         help="login of that user, one per --user")
    deliver.add_argument("--count", type=positive, default=None,
                         help="events in the delivery (default: one per user)")
    deliver.add_argument("--event-type", default="user.lifecycle.deactivate")
    deliver.set_defaults(command=run_deliver)

    replay = commands.add_parser("replay", help="send a saved delivery body unchanged")
    replay.add_argument("url")
    replay.add_argument("file", type=Path)
    replay.set_defaults(command=run_replay)

    preview = commands.add_parser(
        "preview", help="send what the Admin Console's Preview sends with the target Okta's "
                        "event hook guide pastes (John Doe, empty login, no outcome)")
    preview.add_argument("url")
    preview.set_defaults(command=run_preview)

    smoke = commands.add_parser("smoke", help="verify, then deliver a synthetic deactivation")
    smoke.add_argument("url")
    smoke.set_defaults(command=run_smoke)
    return top


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def report(what: str, verdict: okta_rules.Verdict, good: str, bad: str) -> int:
    print(f"{what}: {verdict.line(good, bad)}")
    return 0 if verdict.ok else 1


def run_verify(args, secret: str) -> int:
    verdict = okta_rules.verify(args.url, secret)
    return report("verify", verdict, "VERIFIED", "NOT VERIFIED")


def events_for(users: list, count: int | None, event_type: str) -> list:
    """`count` events cycling through `users`; numbered when there are more events than users."""
    count = count or len(users)
    events = []
    for i in range(count):
        name, login = users[i % len(users)]
        if count > len(users):
            local, _, domain = login.partition("@")
            name, login = f"{name} {i + 1}", f"{local}+{i + 1}@{domain}"
        target = [payloads.user_target(name, login)]
        events.append(payloads.system_log_event(event_type, target))
    return events


def send_delivery(url: str, secret: str, events: list) -> int:
    body = json.dumps(payloads.envelope(events)).encode()
    verdict = okta_rules.deliver(url, secret, body)
    return report("deliver", verdict, f"DELIVERED {len(events)} event(s)",
                  f"DROPPED {len(events)} event(s)")


def run_deliver(args, secret: str) -> int:
    if len(args.user) != len(args.login):
        print("okta_simulator: give one --login for each --user", file=sys.stderr)
        return 2
    users = list(zip(args.user, args.login)) or [DEFAULT_USER]
    return send_delivery(args.url, secret, events_for(users, args.count, args.event_type))


def run_replay(args, secret: str) -> int:
    try:
        body = args.file.read_bytes()
    except OSError as error:
        print(f"okta_simulator: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    return deliver_as_is("replay", args.url, secret, body)


def run_preview(args, secret: str) -> int:
    return deliver_as_is("preview", args.url, secret, json.dumps(payloads.guide_preview()).encode())


def deliver_as_is(command: str, url: str, secret: str, body: bytes) -> int:
    return report(command, okta_rules.deliver(url, secret, body), "DELIVERED", "DROPPED")


def run_smoke(args, secret: str) -> int:
    """A synthetic user whose name is easy to find in Cloud Logging."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    user = (f"Smoke Test {stamp}", f"okta-event-hook-smoke+{stamp}@example.invalid")
    if run_verify(args, secret) != 0:
        return 1
    status = send_delivery(args.url, secret, events_for([user], None, "user.lifecycle.deactivate"))
    if status == 0:
        print(f'smoke: find it in Cloud Logging with jsonPayload.displayName="{user[0]}"')
    return status


if __name__ == "__main__":
    sys.exit(main())
