"""The Okta simulator: against the real receiver on a real server, and Okta's judgement rules
against a scripted stub."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from okta_simulator import demo, okta_rules, payloads
from okta_simulator.__main__ import main
from okta_simulator.local_receiver import DEV_SECRET, REPO, LocalReceiver, free_port
from okta_simulator.transport import exchange


@pytest.fixture(scope="module")
def receiver():
    with LocalReceiver() as server:
        yield server


def run(capsys, *argv, secret=DEV_SECRET):
    """Run the command line; return (exit status, stdout, stderr)."""
    status = main([*(["--secret", secret] if secret else []), *argv])
    out, err = capsys.readouterr()
    assert DEV_SECRET not in out + err and DEV_SECRET.split()[1] not in out + err
    return status, out, err


# --- against the real receiver ------------------------------------------------------------------

def test_verify_passes_against_the_receiver(capsys, receiver):
    status, out, _ = run(capsys, "verify", receiver.url)
    assert status == 0
    assert out.startswith("verify: VERIFIED  HTTP 200 in ")


def test_deliver_reaches_the_receivers_log(capsys, receiver):
    status, out, _ = run(capsys, "deliver", receiver.url, "--user", "Ann Lee",
                         "--login", "ann.lee@example.com")
    assert status == 0 and out.startswith("deliver: DELIVERED 1 event(s)  HTTP 200")
    [line] = receiver.wait_for_records(lambda r: r.get("login") == "ann.lee@example.com")
    assert line["message"] == ("The user Ann Lee (ann.lee@example.com) has been deactivated on "
                               "the Okta org!")


def test_a_wrong_secret_is_reported_as_dropped(capsys, receiver):
    status, out, _ = run(capsys, "deliver", receiver.url, secret="Basic d3Jvbmc6d3Jvbmc=")
    assert status == 1
    assert "DROPPED 1 event(s)  HTTP 401" in out and "never retries a 4xx" in out


def test_a_batch_of_1000_is_delivered_within_oktas_timeout(capsys, receiver):
    status, out, _ = run(capsys, "deliver", receiver.url, "--user", "Batch User",
                         "--login", "batch@example.com", "--count", "1000")
    assert status == 0, out
    assert out.startswith("deliver: DELIVERED 1000 event(s)  HTTP 200")
    lines = receiver.wait_for_records(lambda r: r.get("login", "").startswith("batch+"),
                                      count=1000)
    assert len(lines) == 1000
    assert {r["displayName"] for r in lines} == {f"Batch User {i}" for i in range(1, 1001)}


def test_other_event_types_are_sent_as_asked(capsys, stub):
    status, _, _ = run(capsys, "deliver", stub.url, "--event-type", "user.account.lock",
                       "--count", "2")
    assert status == 0
    [(method, headers, body)] = stub.script.received
    delivery = json.loads(body)
    assert method == "POST" and headers["Authorization"] == DEV_SECRET
    assert headers["Content-Type"] == "application/json"
    assert delivery["eventType"] == "com.okta.event_hook"
    assert [e["eventType"] for e in delivery["data"]["events"]] == ["user.account.lock"] * 2


def test_replay_sends_the_file_unchanged(capsys, stub, tmp_path):
    saved = tmp_path / "preview.json"
    saved.write_bytes(b'{"data":{"events":[]},\n  "eventId": "x\\u00e9"}')
    status, out, _ = run(capsys, "replay", stub.url, str(saved))
    assert status == 0 and out.startswith("replay: DELIVERED")
    assert stub.script.received[0][2] == saved.read_bytes()


def test_smoke_verifies_then_delivers_a_findable_user(capsys, receiver):
    status, out, _ = run(capsys, "smoke", receiver.url)
    assert status == 0
    name = out.split('jsonPayload.displayName="')[1].split('"')[0]
    assert name.startswith("Smoke Test ")
    assert receiver.wait_for_records(lambda r: r.get("displayName") == name)


# --- usage --------------------------------------------------------------------------------------

def test_the_secret_may_come_from_the_environment(capsys, monkeypatch, receiver):
    monkeypatch.setenv("OKTA_HOOK_SECRET", DEV_SECRET)
    assert run(capsys, "verify", receiver.url, secret=None)[0] == 0


def test_no_secret_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("OKTA_HOOK_SECRET", raising=False)
    status, out, err = run(capsys, "verify", "http://127.0.0.1:9/", secret=None)
    assert status == 2 and "pass --secret or set OKTA_HOOK_SECRET" in err and out == ""


def test_each_command_s_help_states_the_exit_statuses(capsys):
    assert main(["deliver", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 when Okta would count the exchange as done" in out
    assert "--secret" in out  # every command takes the secret


def test_more_events_than_users_are_numbered_users(capsys, stub):
    status, _, _ = run(capsys, "deliver", stub.url, "--user", "Ann Lee",
                       "--login", "ann.lee@example.com", "--count", "3")
    assert status == 0
    events = json.loads(stub.script.received[0][2])["data"]["events"]
    assert [(t["displayName"], t["alternateId"]) for e in events for t in e["target"]] == [
        ("Ann Lee 1", "ann.lee+1@example.com"), ("Ann Lee 2", "ann.lee+2@example.com"),
        ("Ann Lee 3", "ann.lee+3@example.com")]


def test_a_simulated_user_is_shaped_as_okta_s_system_log_target():
    [target] = payloads.deactivation("Ann Lee", "ann.lee@example.com")["target"]
    assert set(target) == {"id", "type", "alternateId", "displayName", "detailEntry"}
    assert re.fullmatch(r"00u[0-9a-f]{17}", target["id"])  # 20 characters, like Okta's ids
    assert payloads.now().endswith("Z") and "+00:00" not in payloads.now()


def stable(document) -> dict:
    """`document` with what changes on each call (ids, times) as placeholders."""
    text = json.dumps(document, sort_keys=True)
    text = re.sub(r'"(uuid|eventId)": "[0-9a-f-]{36}"', r'"\1": "<uuid>"', text)
    text = re.sub(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"', '"<now>"', text)
    return json.loads(re.sub(r'"00u[0-9a-f]{17}"', '"<user id>"', text))


@pytest.mark.parametrize("make", [
    lambda: payloads.envelope([payloads.deactivation("Ann Lee", "ann.lee@example.com")]),
    payloads.guide_preview,
    lambda: payloads.failed_delivery([payloads.hook_target("who1", "okta-event-hook")],
                                     "Connection refused"),
], ids=["deactivation", "guide-preview", "failed-delivery"])
def test_the_simulated_deliveries_change_only_on_purpose(snapshot, make):
    """What the simulator sends is Okta's documented shape, nulls and all: a change to it is a
    change to what every receiver test meets, so it shows here (`make snapshots` records it)."""
    assert stable(make()) == snapshot(extension_class=JSONSnapshotExtension)


def test_unmatched_users_and_logins_are_a_usage_error(capsys):
    status, _, err = run(capsys, "deliver", "http://127.0.0.1:9/", "--user", "A")
    assert status == 2 and "one --login for each --user" in err


def test_an_unreadable_file_is_a_usage_error(capsys, tmp_path):
    status, _, err = run(capsys, "replay", "http://127.0.0.1:9/", str(tmp_path / "missing.json"))
    assert status == 2 and "does not exist" in err and len(err.splitlines()) == 1


def test_the_secret_may_follow_the_command(capsys, receiver):
    status, out, _ = run(capsys, "verify", receiver.url, "--secret", DEV_SECRET, secret=None)
    assert status == 0 and out.startswith("verify: VERIFIED")


@pytest.mark.parametrize("hostile", ["Basic S3CRET\r\nX-Injected: 1", "Basic S3CRET\u65e5\u672c",
                                     "Basic S3CRET\x00b", "Basic S3CRETcaf\u00e9"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_secret_no_header_can_carry_is_one_usage_line_never_echoed(capsys, hostile, where):
    argv = (["--secret", hostile, "verify", "http://127.0.0.1:9/"] if where == "before"
            else ["verify", "http://127.0.0.1:9/", "--secret", hostile])
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.splitlines() == ["okta-sim: the hook secret holds a character no HTTP header "
                                "value can carry (a line break, another control character or "
                                "non-ASCII)"]
    assert "S3CRET" not in err


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "example.com/hook", "ftp://example.com/",
                                 "http://[::1", "http://host:port/", "http:///path"])
def test_a_url_okta_could_not_call_is_one_usage_line(capsys, url):
    status, out, err = run(capsys, "deliver", url)
    assert status == 2 and out == ""
    assert len(err.splitlines()) == 1 and "is not an http:// or https:// URL with a host" in err


@pytest.mark.parametrize("argv, message", [
    (["deliver", "http://127.0.0.1:9/", "--save", "/nonexistent/dir/x.json"],
     "okta-sim: cannot write --save /nonexistent/dir/x.json: No such file or directory"),
    (["deliver", "http://127.0.0.1:9/", "--secret", ""], "okta-sim: --secret is empty"),
    (["--secret", " ", "deliver", "http://127.0.0.1:9/"], "okta-sim: --secret is empty"),
    (["deliver", "http://127.0.0.1:9/", "--event-type", ""],
     "okta-sim: Invalid value for --event-type: '' is not an event type, e.g. "
     "user.lifecycle.deactivate"),
    (["deliver", "http://127.0.0.1:9/", "--event-type", "nodots"],
     "okta-sim: Invalid value for --event-type: 'nodots' is not an event type, e.g. "
     "user.lifecycle.deactivate"),
    (["deliver", "http://dev:secret@127.0.0.1:9/"],
     "okta-sim: Invalid value for 'URL': the URL carries a user or password, which Okta never "
     "sends: give the credential with --secret"),
])
def test_each_usage_error_is_one_line_and_exit_2_sending_nothing(capsys, monkeypatch, argv,
                                                                 message):
    monkeypatch.setenv("OKTA_HOOK_SECRET", DEV_SECRET)  # an empty --secret must not fall back
    status = main(argv if "--secret" in argv else [*argv, "--secret", DEV_SECRET])
    out, err = capsys.readouterr()
    assert (status, out, err.splitlines()) == (2, "", [message])


def test_replay_s_help_names_the_sample(capsys):
    assert main(["replay", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "tools/okta_simulator/samples/deactivation-delivery.json" in help_text
    assert (REPO / "tools/okta_simulator/samples/deactivation-delivery.json").is_file()


def test_deliver_can_save_the_exact_body_it_sent_for_replay(capsys, stub, tmp_path):
    saved = tmp_path / "sent.json"
    assert run(capsys, "deliver", stub.url, "--save", str(saved))[0] == 0
    [(_, _, sent)] = stub.script.received
    assert saved.read_bytes() == sent
    assert run(capsys, "replay", stub.url, str(saved))[0] == 0
    assert stub.script.received[1][2] == sent


def test_the_sample_body_in_the_repository_replays_against_the_receiver(capsys, receiver):
    from okta_simulator.__main__ import SAMPLE

    status, out, _ = run(capsys, "replay", receiver.url, str(SAMPLE))
    assert status == 0 and out.startswith("replay: DELIVERED")
    [line] = receiver.wait_for_records(lambda r: r.get("userId") == "00usample0000000001")
    assert line["message"] == ("The user Sam Sample (sam.sample@example.com) has been "
                               "deactivated on the Okta org!")


def test_the_okta_sim_script_runs_from_the_repository_root():
    done = subprocess.run(["./okta-sim", "deliver", "--help"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items()
                                                      if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    assert "--secret VALUE" in done.stdout and "--save FILE" in done.stdout
    assert "Exit status: 0 when Okta would count" in done.stdout


# --- Okta's judgement ---------------------------------------------------------------------------

def delivery_body() -> bytes:
    return json.dumps(payloads.envelope([payloads.deactivation("A B", "a@example.com")])).encode()


def test_a_5xx_is_retried_once_then_dropped_and_its_reason_shown(stub):
    stub.answer((500, b'{"error": "internal error"}'))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert not verdict.ok
    assert [a.status for a in verdict.attempts] == [500, 500]
    assert "retried once and gave up, so these events are lost" in verdict.summary
    assert verdict.summary.count("(internal error)") == 2
    assert len(stub.script.received) == 2


def test_a_5xx_then_a_200_is_delivered_on_the_retry(stub):
    stub.answer((503, b""), (200, b""))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert verdict.ok and "attempt 2 of 2" in verdict.summary


def test_a_4xx_is_dropped_without_a_retry(stub):
    stub.answer((401, b'{"error": "missing or wrong Authorization header"}'))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert not verdict.ok and [a.status for a in verdict.attempts] == [401]
    assert "missing or wrong Authorization header" in verdict.summary
    assert len(stub.script.received) == 1


def test_an_answer_after_3_seconds_is_a_timeout_retried_once(stub):
    stub.answer((200, b"", 3.3))  # Okta's documented 3 seconds, not the simulator's constant
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert not verdict.ok
    assert [a.status for a in verdict.attempts] == [None, None]
    assert "no answer" in verdict.summary


@pytest.mark.parametrize("status", [300, 302])
def test_a_redirect_is_not_followed(stub, status):
    stub.answer((status, b""))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert not verdict.ok and [a.status for a in verdict.attempts] == [status, status]
    assert "retried once and gave up" in verdict.summary


@pytest.mark.parametrize("status", [400, 403, 499])
def test_every_4xx_is_final(stub, status):
    stub.answer((status, b""))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert not verdict.ok and [a.status for a in verdict.attempts] == [status]
    assert f"HTTP {status} in" in verdict.summary and "(no body)" in verdict.summary


@pytest.mark.parametrize("body, shown", [
    # Cloud Run's own refusal, before the function runs: an HTML page.
    (b"<html><head><title>403 Forbidden</title></head></html>", "<html><head><title>403 Forbidden"),
    (b'{"message": "not ours"}', '{"message": "not ours"}'),  # JSON without "error"
    (b'["a list"]', '["a list"]'),
    (b"x" * 300, "x" * 200 + ")"),  # at most 200 characters of it
])
def test_a_refusal_shows_its_reason_whatever_the_body(stub, body, shown):
    stub.answer((403, body))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, delivery_body())
    assert "HTTP 403 in" in verdict.summary and f"({shown}" in verdict.summary


def test_an_answer_trickled_past_the_timeout_is_too_late(stub):
    """Each piece arrives within the socket's timeout, the whole answer does not."""
    stub.answer((200, b"12345")).trickle(0.15)  # 0.75 s in all
    result = okta_rules.attempt(stub.url, "POST", {}, b"{}", timeout=0.5)
    assert result.status is None and result.seconds > 0.5
    assert result.describe().startswith("answered too late after ")


def test_a_failed_verification_says_what_it_costs_not_lost_events(stub):
    stub.answer((401, b'{"error": "missing or wrong Authorization header"}'))
    verdict = okta_rules.verify(stub.url, DEV_SECRET)
    assert not verdict.ok and "events" not in verdict.summary
    assert verdict.summary.endswith(": Okta never retries a 4xx, so the hook stays unverified "
                                    "and Okta delivers nothing to it")


def test_a_verification_must_echo_the_challenge(stub):
    stub.answer((200, b'{"verification": "something else"}'))
    verdict = okta_rules.verify(stub.url, DEV_SECRET)
    assert not verdict.ok and "the answer is wrong" in verdict.summary
    method, headers, _ = stub.script.received[0]
    assert method == "GET" and len(headers["X-Okta-Verification-Challenge"]) >= 32


def test_a_verification_is_the_get_okta_sends(stub):
    stub.answer((200, b'{"verification": "something else"}'))
    okta_rules.verify(stub.url, DEV_SECRET)
    okta_rules.verify(stub.url, DEV_SECRET)
    (method, first, _), (_, second, _) = stub.script.received
    assert method == "GET"
    assert first["Accept"] == "application/json" and first["Authorization"] == DEV_SECRET
    challenges = {first["X-Okta-Verification-Challenge"], second["X-Okta-Verification-Challenge"]}
    assert len(challenges) == 2  # a new one each time


def test_a_refusal_that_is_not_utf8_is_still_shown(stub):
    stub.answer((403, b"Forbidden \xff"))
    verdict = okta_rules.deliver(stub.url, DEV_SECRET, b"{}")
    assert "(Forbidden \ufffd)" in verdict.summary


def test_a_verification_answered_with_something_other_than_json_fails(stub):
    stub.answer((200, b"<html>OK</html>"))
    verdict = okta_rules.verify(stub.url, DEV_SECRET)
    assert not verdict.ok and "the answer is wrong: b'<html>OK</html>'" in verdict.summary


def test_nothing_listening_is_a_failed_delivery():
    verdict = okta_rules.deliver("http://127.0.0.1:9/", DEV_SECRET, b"{}")
    assert not verdict.ok and "no connection" in verdict.summary


# --- make demo ----------------------------------------------------------------------------------

DEMO_OUTPUT = """\
Receiver: functions-framework serving function/main.py:okta_event_hook at URL (pid N)

[1] Okta verifies the hook (GET with X-Okta-Verification-Challenge)
    VERIFIED  HTTP 200 in N ms (attempt 1 of 2)

[2] An admin deactivates John Doe; Okta delivers user.lifecycle.deactivate
    DELIVERED  HTTP 200 in N ms (attempt 1 of 2)

[3] The receiver's structured log line (Cloud Logging format)
    NOTICE The user John Doe (john.doe@example.com) has been deactivated on the Okta org!

[4] A delivery with the wrong secret is refused
    REFUSED  HTTP 401 in N ms (missing or wrong Authorization header): Okta never retries a \
4xx, so these events are lost to the hook (the System Log catch-up recovers them)

[5] The hook is down when an admin deactivates Jane Roe; Okta tries twice, gives up
    DROPPED  no connection ([Errno 111] Connection refused) after N ms then no connection \
([Errno 111] Connection refused) after N ms: Okta retried once and gave up, so these events are \
lost to the hook (the System Log catch-up recovers them)

[6] The catch-up (target okta_catch_up) reads the System Log of a fake Okta org
    HTTP 200: 2 event(s) read, 1 user line(s), 1 failed delivery(ies) reported
    NOTICE The user Jane Roe (jane.roe@example.com) has been deactivated on the Okta org!
    ERROR Okta could not deliver to event hook okta-event-hook: Connection refused
    The hook writes the same insertId for Jane Roe's event: yes

[7] A burst of 2,500 deactivations, more than a pass reads (1 page of 1,000 here); each pass \
runs on a new instance and resumes from the cursor in Cloud Storage
    pass 1, new instance, from the look-back: 1000 event(s), stopped at its page limit
    pass 2, new instance, from the cursor: 1000 event(s), stopped at its page limit
    pass 3, new instance, from the cursor: 500 event(s), stopped at its page limit
    pass 4, new instance, from the cursor: 0 event(s), caught up
    2,500 of 2,500 users logged, each once

Receivers stopped. Demo passed.
"""


def test_the_demo_passes_and_shows_each_step_as_it_should(capsys):
    """`make demo`'s main(), in this process (its receivers are real servers). What it prints is
    what it is for: the whole output, with ports, pids, times and log lines made comparable."""
    assert demo.main() == 0
    shown = capsys.readouterr().out

    def comparable(line: str) -> str:
        if line.startswith("    {"):  # a log line, shown whole as JSON
            record = json.loads(line)
            return f"    {record['severity']} {record['message']}"
        line = re.sub(r"http://127\.0\.0\.1:\d+/", "URL", line)
        return re.sub(r"\d+(\.\d+)? ms", "N ms", re.sub(r"pid \d+", "pid N", line))

    assert "\n".join(comparable(line) for line in shown.split("\n")) == DEMO_OUTPUT


def shown_steps(shown: str) -> dict:
    """What the demo printed under each numbered step, by step number."""
    return dict(re.findall(r"^\[(\d)\] .*\n((?:    .*\n)*)", shown, re.M))


def test_a_demo_whose_steps_fail_says_which_and_exits_1(capsys, monkeypatch):
    """Okta holding a secret the receiver does not know: verification and John Doe's delivery are
    refused, so no line shows and Jane Roe's late delivery cannot match the catch-up's line."""
    monkeypatch.setattr(demo, "DEV_SECRET", "Basic c29tZTpvdGhlci1zZWNyZXQ=")  # some:other-secret
    monkeypatch.setattr(demo, "WAIT_SECONDS", 0.5)
    assert demo.main() == 1
    shown = capsys.readouterr().out
    steps = shown_steps(shown)
    assert steps["1"].startswith("    NOT VERIFIED  HTTP 401")
    assert steps["2"].startswith("    DROPPED  HTTP 401")
    assert steps["3"] == ""  # no line to show
    assert steps["4"].startswith("    REFUSED  HTTP 401")
    assert "The hook writes the same insertId for Jane Roe's event: NO" in steps["6"]
    assert shown.endswith("\nReceivers stopped. 4 step(s) failed.\n")


def test_a_demo_whose_later_steps_fail_says_which_and_exits_1(capsys, monkeypatch, receiver):
    """A receiver that takes any secret, a "down" hook that answers, and a catch-up whose key is
    not the one the org knows: steps 4 to 6 fail, and the late delivery's line cannot match."""
    monkeypatch.setattr(demo, "WRONG_SECRET", DEV_SECRET)
    monkeypatch.setattr(demo, "free_port", lambda: receiver.port)
    make_key = demo.new_app_key
    monkeypatch.setattr(demo, "new_app_key", lambda: (make_key()[0], make_key()[1]))
    monkeypatch.setattr(demo, "WAIT_SECONDS", 0.5)
    assert demo.main() == 1
    shown = capsys.readouterr().out
    steps = shown_steps(shown)
    assert steps["1"].startswith("    VERIFIED") and steps["2"].startswith("    DELIVERED")
    assert steps["3"].count("\n") == 1  # John Doe's line, shown
    assert steps["4"].startswith("    NOT REFUSED  HTTP 200")
    assert steps["5"].startswith("    DELIVERED  HTTP 200")
    assert steps["6"] == (
        "    HTTP 502: Okta refused the catch-up's credentials: Okta refused an access "
        "token: HTTP 401 (invalid_client; The client_assertion signature or claims are "
        "invalid.)\n"
        "    The hook writes the same insertId for Jane Roe's event: NO\n")
    assert steps["7"].startswith("    pass 1: HTTP 502: Okta refused the catch-up's credentials")
    assert shown.endswith("\nReceivers stopped. 5 step(s) failed.\n")


def test_make_smoke_reads_url_and_secret_from_pulumi(tmp_path, receiver):
    """`make smoke` against a deployed stack, with the receiver standing in for the deployment
    and a stand-in `pulumi` answering the two questions the target asks (no Pulumi CLI here)."""
    fake = tmp_path / "pulumi"
    answers = {"stack --show-name": "dev", "stack output functionUrl": receiver.url,
               "config get okta-event-hook:hookSecret": DEV_SECRET}
    fake.write_text("#!/bin/sh\n" + "".join(
        f'[ "$*" = "{question}" ] && {{ echo "{answer}"; exit 0; }}\n'
        for question, answer in answers.items()) + 'echo "unexpected: pulumi $*" >&2; exit 1\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "OKTA_HOOK_SECRET"}
    env["PATH"] = f"{tmp_path}:{env['PATH']}"
    done = subprocess.run(["make", "--no-print-directory", "smoke"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verify: VERIFIED" in done.stdout and "deliver: DELIVERED 1 event(s)" in done.stdout
    assert DEV_SECRET not in done.stdout + done.stderr
    name = done.stdout.split('jsonPayload.displayName="')[1].split('"')[0]
    assert receiver.wait_for_records(lambda r: r.get("displayName") == name)


def test_preview_sends_the_guides_body_and_the_receiver_logs_the_guides_line(capsys, receiver):
    status, out, _ = run(capsys, "preview", receiver.url)
    assert status == 0 and out.startswith("preview: DELIVERED  HTTP 200")
    [line] = receiver.wait_for_records(lambda r: r.get("userId") == "00u3m90rsKgGQ0G6L1d76")
    assert line["message"] == "The user John Doe has been deactivated on the Okta org!"
    assert (line["login"], line["displayName"], line["outcome"]) == (None, "John Doe", None)


def test_the_preview_body_carries_the_guides_target_and_no_outcome():
    [event] = payloads.guide_preview()["data"]["events"]
    assert event["target"] == [{"id": "00u3m90rsKgGQ0G6L1d76", "type": "User", "alternateId": "",
                                "displayName": "John Doe", "detailEntry": None}]
    assert event["outcome"] is None and event["actor"] is None
    assert event["eventType"] == "user.lifecycle.deactivate"


def test_make_smoke_without_the_pulumi_cli_says_what_to_do(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("make", "sh", "bash", "env", "mkdir", "touch", "dirname"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    done = subprocess.run(["make", "--no-print-directory", "smoke"], cwd=REPO,
                          env={**os.environ, "PATH": str(bare)}, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "make smoke needs the Pulumi CLI" in done.stderr and "Traceback" not in done.stderr


# --- the local receiver process ----------------------------------------------------------------

def test_a_local_receiver_keeps_its_log_where_it_is_told(tmp_path):
    """The bench keeps the servers' logs in memory (/dev/shm): the file must go where it says."""
    with LocalReceiver(log_dir=str(tmp_path)) as server:
        [log_file] = tmp_path.glob("receiver-*.log")
        okta_rules.verify(server.url, DEV_SECRET)
        assert server.wait_for_records(lambda r: "verification" in r["message"])
        assert "Answered Okta's event hook verification challenge." in log_file.read_text()
        server_process, *workers = server.processes()
        assert server_process.pid == server.pid  # functions-framework, then gunicorn's worker
        assert [worker.ppid() for worker in workers] == [server.pid]


def test_a_local_receiver_runs_with_its_own_settings_only(monkeypatch):
    """The shell's OKTA_ variables (a developer's real ones) never reach the process."""
    monkeypatch.setenv("OKTA_HOOK_MAX_BODY_BYTES", "10")
    with LocalReceiver() as server:
        body = json.dumps(payloads.envelope(
            [payloads.deactivation("Ann Lee", "ann.lee@example.com")])).encode()
        assert okta_rules.deliver(server.url, DEV_SECRET, body).ok
        assert server.wait_for_records(lambda r: r.get("login") == "ann.lee@example.com")


def test_a_receiver_that_cannot_start_says_why(tmp_path):
    broken = tmp_path / "main.py"
    broken.write_bytes(b"import sys\nsys.stdout.buffer.write(b'not UTF-8: \\xff\\n')\n"
                       b"raise SystemExit('the source is broken')\n")
    with pytest.raises(RuntimeError, match=r"(?s)receiver exited with \d+:\n.*"
                                           r"not UTF-8: \ufffd.*the source is broken"):
        LocalReceiver(source=broken).start()


def test_a_receiver_that_never_listens_is_stopped_at_the_deadline(tmp_path):
    asleep = tmp_path / "main.py"
    asleep.write_text("import time\ntime.sleep(60)\n")
    server = LocalReceiver(source=asleep)
    with pytest.raises(TimeoutError, match=rf"did not listen on port {server.port} within 1 s"):
        server.start(timeout=1)
    assert server._process.poll() is not None  # not left running


def test_a_local_receiver_never_started_stops_quietly():
    LocalReceiver().stop()


# --- make run-catch-up --------------------------------------------------------------------------

def test_the_local_catch_up_serves_passes_that_resume_from_its_cursor():
    """`make run-catch-up`'s program, as a user runs it: a banner with the commands, one page a
    pass, the passes' lines as they come, and Ctrl-C ends it all."""
    port = free_port()
    # Ctrl-C as a terminal sends it: a test runner started in the background (CI may be) hands
    # its children SIGINT ignored, and Python then never raises KeyboardInterrupt.
    process = subprocess.Popen(
        [sys.executable, "-m", "okta_simulator.local_catch_up", "--port", str(port),
         "--users", "1500"], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO / "tools")},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[0].startswith(f"Catch-up (function/main.py:okta_catch_up) on "
                                    f"http://127.0.0.1:{port}/")
        assert banner[1].strip() == f"one pass:   curl -s -X POST http://127.0.0.1:{port}/"
        summaries = [json.loads(exchange(f"http://127.0.0.1:{port}/", "POST", {}, b"",
                                         timeout=30).body) for _ in range(3)]
        assert [(s["startedFrom"], s["eventsRead"], s["complete"]) for s in summaries] == [
            ("look-back", 1000, False), ("cursor", 501, False), ("cursor", 0, True)]
        shown = [process.stdout.readline().strip() for _ in range(5)]
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert shown[0].startswith("WARNING: No cursor at gs://")
    assert shown[1:] == [
        'pass: startedFrom "look-back", pages 1, eventsRead 1000, usersLogged 1000, '
        f'deliveryFailures 0, complete false, behindSeconds {summaries[0]["behindSeconds"]}',
        "ERROR: Okta could not deliver to event hook okta-event-hook: Read timed out",
        'pass: startedFrom "cursor", pages 1, eventsRead 501, usersLogged 500, '
        f'deliveryFailures 1, complete false, behindSeconds {summaries[1]["behindSeconds"]}',
        'pass: startedFrom "cursor", pages 0, eventsRead 0, usersLogged 0, deliveryFailures 0, '
        "complete true, behindSeconds 0"]
    assert rest.strip() == "Stopped." and process.returncode == 0


# The gcloud `make smoke` calls, played against local parts: `scheduler jobs run` POSTs to the
# catch-up on functions-framework as Cloud Scheduler would; `logging read` answers with the
# catch-up's own log lines as Cloud Logging entries (or, with FAKE_GCLOUD_REFUSED, with the
# request log entry of Cloud Run refusing the scheduler's call).
FAKE_GCLOUD = '''#!/usr/bin/env python3
import json, os, sys, urllib.request
args = sys.argv[1:]
if args[:3] == ["scheduler", "jobs", "run"]:
    if not os.environ.get("FAKE_GCLOUD_REFUSED"):
        request = urllib.request.Request(os.environ["FAKE_CATCH_UP_URL"], data=b"", method="POST")
        try:
            urllib.request.urlopen(request, timeout=60).read()
        except urllib.error.HTTPError:
            pass
    sys.exit(0)
if args[:2] == ["logging", "read"]:
    if 'resource.labels.service_name="okta-event-hook-dev-catchup"' not in args[2]:
        print("the filter names another service: " + args[2], file=sys.stderr)
        sys.exit(1)
    service = {"type": "cloud_run_revision",
               "labels": {"service_name": "okta-event-hook-dev-catchup"}}
    if os.environ.get("FAKE_GCLOUD_REFUSED"):
        entries = [{"resource": service, "severity": "WARNING",
                    "httpRequest": {"status": int(os.environ["FAKE_GCLOUD_REFUSED"])}}]
    else:
        lines = open(os.environ["FAKE_CATCH_UP_LOG"]).read().splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        entries = [{"resource": service, "severity": r["severity"], "jsonPayload": r}
                   for r in records]
    print(json.dumps(entries))
    sys.exit(0)
print("unexpected: gcloud " + " ".join(args), file=sys.stderr)
sys.exit(1)
'''
JOB = "projects/test-project/locations/us-central1/jobs/okta-event-hook-dev-catch-up"


@pytest.mark.parametrize("entry, said", [
    ({"resource": {"type": "cloud_scheduler_job"}, "severity": "ERROR",
      "jsonPayload": {"status": "PERMISSION_DENIED"}},
     "catch-up NOT CALLED: the Scheduler job's attempt was refused (PERMISSION_DENIED)"),
    ({"resource": {"type": "cloud_scheduler_job"}, "severity": "ERROR",
      "jsonPayload": {"status": "UNAUTHENTICATED"}},
     "catch-up NOT CALLED: the Scheduler job's attempt was refused (UNAUTHENTICATED)"),
    # The catch-up's own 500 or a deadline: it was called; its failure is its own.
    ({"resource": {"type": "cloud_scheduler_job"}, "severity": "ERROR",
      "jsonPayload": {"status": "INTERNAL"}},
     "catch-up FAILED: the Scheduler job's attempt ended INTERNAL, and the catch-up logged no "
     "outcome: see its logs"),
    ({"resource": {"type": "cloud_scheduler_job"}, "severity": "ERROR",
      "jsonPayload": {"status": "DEADLINE_EXCEEDED"}},
     "catch-up FAILED: the Scheduler job's attempt ended DEADLINE_EXCEEDED, and the catch-up "
     "logged no outcome: see its logs"),
    ({"resource": {"type": "cloud_run_revision"}, "httpRequest": {"status": 200}}, None),
])
def test_make_smoke_tells_a_refused_attempt_from_the_catch_up_s_own_failure(entry, said):
    from okta_simulator.smoke_catch_up import judge

    assert (judge(entry) or (None,))[0] == said


def test_make_smoke_s_failed_catch_up_is_a_failure_and_its_pass_a_success():
    from okta_simulator.smoke_catch_up import judge

    failed = {"jsonPayload": {"action": "okta.catch_up.failed", "message": "Okta refused"}}
    assert judge(failed) == ("catch-up FAILED: Okta refused", 1)
    passed = {"jsonPayload": {"action": "okta.catch_up.pass", "complete": True,
                              "eventsRead": 2, "usersLogged": 1}}
    assert judge(passed) == ("catch-up OK: caught up: 2 event(s) read, 1 user line(s)", 0)


def test_make_smoke_says_when_gcloud_cannot_read_cloud_logging(tmp_path):
    """The job ran, but the operator may not read the logs: one line with gcloud's own last
    words, exit 1, not a wait of minutes."""
    gcloud = tmp_path / "gcloud"
    gcloud.write_text("#!/bin/sh\n"
                      '[ "$1" = scheduler ] && exit 0\n'
                      'echo "ERROR: (gcloud.logging.read) PERMISSION_DENIED: no logging.logEntries'
                      '.list" >&2; exit 1\n')
    gcloud.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "okta_simulator.smoke_catch_up", JOB,
         "okta-event-hook-dev-catchup"],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}",
             "PYTHONPATH": str(REPO / "tools")}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "smoke catch-up: gcloud could not read Cloud Logging: ERROR: (gcloud.logging.read) "
        "PERMISSION_DENIED: no logging.logEntries.list")


def test_make_smoke_waits_for_the_whole_attempt_and_counts_only_the_scheduler_s_refusals():
    from okta_simulator import smoke_catch_up

    assert smoke_catch_up.WAIT_SECONDS > 320  # the job's attempt deadline (infra/gcp_catch_up.py)
    sys.path.insert(0, str(REPO / "infra"))
    try:
        from gcp_catch_up import ATTEMPT_DEADLINE
    finally:
        sys.path.remove(str(REPO / "infra"))
    assert smoke_catch_up.ATTEMPT_DEADLINE_SECONDS == int(ATTEMPT_DEADLINE.rstrip("s"))
    assert 'httpRequest.userAgent:"Google-Cloud-Scheduler"' in smoke_catch_up.outcome_filter(
        "job", "service", "2026-12-06T00:00:00Z")


@pytest.mark.parametrize("case, status, line", [
    ("works", 0, "smoke catch-up OK: caught up: 1 event(s) read, 1 user line(s)"),
    ("wrong key", 1, "smoke catch-up FAILED: System Log catch-up pass failed: Okta refused the "
                     "catch-up's credentials: Okta refused an access token: HTTP 401"),
    ("not invoker", 1, "smoke catch-up NOT CALLED: Cloud Run answered the scheduler 403: the "
                       "scheduler's account may not invoke the service (roles/run.invoker: "
                       "pulumi up --refresh)"),
])
def test_make_smoke_runs_the_catch_up_once_and_says_what_came_of_it(tmp_path, receiver, case,
                                                                   status, line):
    from helpers import CLIENT_ID, deactivation, env_for
    from okta_simulator.fake_org import FakeOktaOrg, new_app_key

    key = new_app_key()[0]
    catch_up_key = key if case != "wrong key" else new_app_key()[0]
    answers = {"stack --show-name": "dev", "stack output functionUrl": receiver.url,
               "config get okta-event-hook:hookSecret": DEV_SECRET,
               "stack output catchUpSchedulerJob": JOB,
               "stack output catchUpService": "okta-event-hook-dev-catchup"}
    (tmp_path / "pulumi").write_text("#!/bin/sh\n" + "".join(
        f'[ "$*" = "{question}" ] && {{ echo "{answer}"; exit 0; }}\n'
        for question, answer in answers.items()) + 'echo "unexpected: pulumi $*" >&2; exit 1\n')
    (tmp_path / "gcloud").write_text(FAKE_GCLOUD)
    for tool in ("pulumi", "gcloud"):
        (tmp_path / tool).chmod(0o755)
    with FakeOktaOrg(CLIENT_ID, key.public_key()) as org, \
            LocalReceiver(env=env_for(org.url, catch_up_key),
                          target="okta_catch_up") as catch_up:
        org.add(deactivation("Ann Lee", "ann@example.com"))
        env = {k: v for k, v in os.environ.items() if k != "OKTA_HOOK_SECRET"}
        env.update(PATH=f"{tmp_path}:{env['PATH']}", FAKE_CATCH_UP_URL=catch_up.url,
                   FAKE_CATCH_UP_LOG=str(catch_up.log_path))
        if case == "not invoker":
            env["FAKE_GCLOUD_REFUSED"] = "403"
        done = subprocess.run(["make", "--no-print-directory", "smoke"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=300)
    assert done.returncode == (2 if status else 0), done.stdout + done.stderr
    assert "deliver: DELIVERED 1 event(s)" in done.stdout  # the hook's half ran first
    assert "smoke catch-up: ran the Cloud Scheduler job okta-event-hook-dev-catch-up" in \
        done.stdout
    said = done.stdout if status == 0 else done.stderr
    assert any(said_line.startswith(line) for said_line in said.splitlines()), said
    assert DEV_SECRET not in done.stdout + done.stderr
