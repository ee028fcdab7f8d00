"""Command line: play Okta's side of the event hook protocol against a receiver.

From the repository root: ./okta-sim COMMAND URL [OPTIONS]   (or: PYTHONPATH=tools python -m
okta_simulator ...). The hook secret, the exact Authorization header value Okta sends, comes from
--secret (before or after the command) or OKTA_HOOK_SECRET, and is never printed.
"""

import json
import os
import re
import sys
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

import click

from okta_simulator import okta_rules, payloads

DEFAULT_USER = ("John Doe", "john.doe@example.com")
SAMPLE = Path(__file__).resolve().parent / "samples" / "deactivation-delivery.json"
EXIT_CODES = ("Exit status: 0 when Okta would count the exchange as done (delivered or verified), "
              "1 when it would not, 2 for a usage error.")


class HookUrl(click.ParamType):
    """An http(s) URL with a host: what Okta could call (Okta itself insists on https)."""

    name = "URL"

    def convert(self, value, param, ctx):
        try:
            parts = urllib.parse.urlsplit(value)
            usable = parts.scheme in ("http", "https") and parts.hostname
            parts.port  # raises ValueError for a port that is not a number
        except ValueError:  # e.g. http://[::1 (an unclosed IPv6 address)
            usable = False
        if not usable:
            self.fail(f"{value!r} is not an http:// or https:// URL with a host, "
                      "e.g. http://127.0.0.1:8080/", param, ctx)
        if parts.username is not None or parts.password is not None:
            self.fail("the URL carries a user or password, which Okta never sends: give the "
                      "credential with --secret", param, ctx)
        return value


def event_type(value: str) -> str:
    """A System Log event type: dotted words, as Okta names them."""
    if not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+", value):
        raise click.BadParameter(f"{value!r} is not an event type, e.g. user.lifecycle.deactivate",
                                 param_hint="--event-type")
    return value


def valid_secret(value: str) -> str:
    """The secret, stripped; a usage error (never quoting it) if no HTTP header could carry it."""
    value = value.strip()
    if not value:
        raise click.UsageError("no hook secret: pass --secret or set OKTA_HOOK_SECRET")
    if not all(0x20 <= ord(c) <= 0x7E or c == "\t" for c in value):
        raise click.UsageError("the hook secret holds a character no HTTP header value can carry "
                               "(a line break, another control character or non-ASCII)")
    return value


secret_option = click.option(
    "--secret", metavar="VALUE",
    help="the Authorization header value Okta sends [default: $OKTA_HOOK_SECRET]")
url_argument = click.argument("url", type=HookUrl())
save_option = click.option("--save", type=click.Path(dir_okay=False, path_type=Path),
                           help="also write the exact body sent to this file (for replay)")


def command(function):
    """A subcommand that takes --secret too, so the option may follow the command."""
    return cli.command(epilog=EXIT_CODES)(secret_option(click.pass_context(function)))


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@secret_option
@click.pass_context
def cli(ctx, secret):
    """Play Okta's side of the event hook protocol against a receiver, judging each answer as
    Okta does: 2xx within 3 s is done; a 4xx is final; a timeout, 5xx or redirect is retried
    once."""
    ctx.obj = secret


def secret_of(ctx, secret: str | None) -> str:
    """--secret after the command, else before it, else $OKTA_HOOK_SECRET. A --secret given
    empty is refused as empty, never replaced by the environment's."""
    for given in (secret, ctx.obj):
        if given is not None:
            if not given.strip():
                raise click.UsageError("--secret is empty")
            return valid_secret(given)
    return valid_secret(os.environ.get("OKTA_HOOK_SECRET", ""))


def report(what: str, verdict: okta_rules.Verdict, good: str, bad: str) -> int:
    click.echo(f"{what}: {verdict.line(good, bad)}")
    return 0 if verdict.ok else 1


@command
@url_argument
def verify(ctx, secret, url):
    """Send Okta's one-time verification challenge (a GET); the answer must echo it."""
    verdict = okta_rules.verify(url, secret_of(ctx, secret))
    ctx.exit(report("verify", verdict, "VERIFIED", "NOT VERIFIED"))


@command
@url_argument
@click.option("--user", "users", multiple=True, metavar="NAME",
              help="display name of a deactivated user (repeatable) [default: John Doe]")
@click.option("--login", "logins", multiple=True, metavar="LOGIN",
              help="that user's login, one per --user")
@click.option("--count", type=click.IntRange(min=1),
              help="events in the delivery [default: one per user]; with more events than "
                   "users, names and logins are numbered (John Doe 2, john.doe+2@...)")
@click.option("--event-type", default="user.lifecycle.deactivate", show_default=True,
              callback=lambda ctx, param, value: event_type(value),
              help="the System Log event type of every event")
@save_option
def deliver(ctx, secret, url, users, logins, count, event_type, save):
    """POST an Okta-shaped event hook delivery of user deactivations."""
    secret = secret_of(ctx, secret)
    if len(users) != len(logins):
        raise click.UsageError("give one --login for each --user")
    events = events_for(list(zip(users, logins)) or [DEFAULT_USER], count, event_type)
    ctx.exit(send_delivery(url, secret, events, save))


@command
@url_argument
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def replay(ctx, secret, url, file):
    """Send a saved delivery body unchanged: one written with --save, or the sample
    tools/okta_simulator/samples/deactivation-delivery.json."""
    verdict = okta_rules.deliver(url, secret_of(ctx, secret), file.read_bytes())
    ctx.exit(report("replay", verdict, "DELIVERED", "DROPPED"))


@command
@url_argument
@save_option
def preview(ctx, secret, url, save):
    """Send what the Admin Console's Preview sends with the target Okta's event hook guide pastes
    (John Doe, an empty login, no outcome)."""
    body = json.dumps(payloads.guide_preview()).encode()
    ctx.exit(deliver_body("preview", url, secret_of(ctx, secret), body, save))


@command
@url_argument
def smoke(ctx, secret, url):
    """Verify, then deliver a deactivation of a synthetic user easy to find in Cloud Logging."""
    secret = secret_of(ctx, secret)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    user = (f"Smoke Test {stamp}", f"okta-event-hook-smoke+{stamp}@example.invalid")
    if report("verify", okta_rules.verify(url, secret), "VERIFIED", "NOT VERIFIED") != 0:
        ctx.exit(1)
    status = send_delivery(url, secret, events_for([user], None, "user.lifecycle.deactivate"))
    if status == 0:
        click.echo(f'smoke: find it in Cloud Logging with jsonPayload.displayName="{user[0]}"')
    ctx.exit(status)


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


def send_delivery(url: str, secret: str, events: list, save: Path | None = None) -> int:
    body = json.dumps(payloads.envelope(events)).encode()
    return deliver_body("deliver", url, secret, body, save, f" {len(events)} event(s)")


def deliver_body(what: str, url: str, secret: str, body: bytes, save: Path | None = None,
                 counted: str = "") -> int:
    if save is not None:  # written first: a path that cannot be written sends nothing
        try:
            save.write_bytes(body)
        except OSError as error:
            raise click.UsageError(f"cannot write --save {save}: {error.strerror}") from None
    verdict = okta_rules.deliver(url, secret, body)
    return report(what, verdict, f"DELIVERED{counted}", f"DROPPED{counted}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; a usage error is one line on stderr and exit status 2."""
    try:
        return cli.main(argv, prog_name="okta-sim", standalone_mode=False) or 0
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as error:
        click.echo(f"okta-sim: {error.format_message()}", err=True)
        return 2
    except click.ClickException as error:
        click.echo(f"okta-sim: {error.format_message()}", err=True)
        return error.exit_code
    except click.exceptions.Abort:
        return 1


if __name__ == "__main__":
    sys.exit(main())
