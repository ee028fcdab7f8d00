"""The receiver's small parts on their own: settings, credential check, id memory, lines."""

import io
import json
import sys

import pytest

from helpers import post
from okta_hook import logs
from okta_hook.auth import is_authorized
from okta_hook.events import user_description
from okta_hook.logs import encode
from okta_hook.recent_ids import RecentIds
from okta_hook.settings import DEFAULT_MAX_BODY_BYTES, Settings
from okta_simulator import payloads


def test_settings_defaults_and_rotation():
    settings = Settings.from_environ({"OKTA_HOOK_SECRET": " Basic abc\n",
                                      "OKTA_HOOK_SECRET_PREVIOUS": "Basic old"})
    assert settings.accepted_credentials == (b"Basic abc", b"Basic old")
    assert settings.auth_header == "Authorization"
    assert settings.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 10 * 1024 * 1024
    assert settings.problems == ()


NO_HEADER_VALUE = ("holds a character no HTTP header value can carry (a line break, another "
                   "control character or non-ASCII)")
BAD_HEADER_NAME = "OKTA_HOOK_AUTH_HEADER is not a valid HTTP header name"
BAD_LIMIT = "OKTA_HOOK_MAX_BODY_BYTES must be a positive whole number of bytes"


@pytest.mark.parametrize("environ, problem", [
    ({}, "OKTA_HOOK_SECRET is not set: every request is refused"),
    ({"OKTA_HOOK_SECRET": "Basic caf\u00e9"}, f"OKTA_HOOK_SECRET {NO_HEADER_VALUE}"),
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_SECRET_PREVIOUS": "\u00e9"},
     f"OKTA_HOOK_SECRET_PREVIOUS {NO_HEADER_VALUE}"),
    # GNU base64 wraps at 76 columns when `tr -d '\n'` is forgotten.
    ({"OKTA_HOOK_SECRET": "Basic " + "A" * 70 + "\n" + "B" * 10},
     f"OKTA_HOOK_SECRET {NO_HEADER_VALUE}"),
    ({"OKTA_HOOK_SECRET": "Basic a\x00b"}, f"OKTA_HOOK_SECRET {NO_HEADER_VALUE}"),
    ({"OKTA_HOOK_SECRET": "Basic a\rb"}, f"OKTA_HOOK_SECRET {NO_HEADER_VALUE}"),
    ({"OKTA_HOOK_SECRET": "Basic a\x7fb"}, f"OKTA_HOOK_SECRET {NO_HEADER_VALUE}"),
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_AUTH_HEADER": "Bad Header"}, BAD_HEADER_NAME),
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_AUTH_HEADER": ""}, BAD_HEADER_NAME),
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_MAX_BODY_BYTES": "1e6"}, BAD_LIMIT),
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_MAX_BODY_BYTES": "0"}, BAD_LIMIT),
    # str.isdigit() says yes to a superscript two; int() does not: a problem, not a crash.
    ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_MAX_BODY_BYTES": "\u00b2"}, BAD_LIMIT),
])
def test_settings_problems_name_the_variable(environ, problem):
    assert Settings.from_environ(environ).problems == (problem,)


def test_the_smallest_body_limit_is_one_byte():
    settings = Settings.from_environ({"OKTA_HOOK_SECRET": "s", "OKTA_HOOK_MAX_BODY_BYTES": "1"})
    assert (settings.problems, settings.max_body_bytes) == ((), 1)


def test_spaces_and_tabs_inside_a_secret_are_valid_header_characters():
    settings = Settings.from_environ({"OKTA_HOOK_SECRET": "Bearer a\tb c"})
    assert settings.problems == () and settings.accepted_credentials == (b"Bearer a\tb c",)


def test_settings_never_print_the_secret():
    settings = Settings.from_environ({"OKTA_HOOK_SECRET": "Basic c2VjcmV0"})
    assert "c2VjcmV0" not in repr(settings) and "c2VjcmV0" not in str(settings)


@pytest.mark.parametrize("presented, expected", [
    (["Basic abc"], True),
    (["Basic old"], True),
    (["Basic ab"], False),
    (["Basic abcd"], False),
    (["basic abc"], False),
    ([], False),
    (["Basic abc", "Basic abc"], False),
    (["Basic ab\u00e7"], False),
])
def test_is_authorized(presented, expected):
    assert is_authorized(presented, (b"Basic abc", b"Basic old")) is expected


def test_nothing_is_authorized_without_credentials():
    assert not is_authorized([""], ())
    assert not is_authorized(["anything"], ())


def test_recent_ids_forget_the_oldest_first():
    recent = RecentIds(3)
    for item in "abcd":
        recent.add(item)
    assert len(recent) == 3 and "a" not in recent and "d" in recent
    recent.add("b")  # refreshed: now the newest
    recent.add("e")
    assert "b" in recent and "c" not in recent


class CountingStdout(io.StringIO):
    """stdout that counts its writes: each is a system call on a real stream."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text):
        self.writes += 1
        return super().write(text)


def test_lines_logged_together_are_written_in_one_write_even_on_error(monkeypatch):
    out = CountingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    with pytest.raises(RuntimeError):
        with logs.together():
            logs.log("NOTICE", "first")
            logs.log("NOTICE", "second")
            assert out.writes == 0  # held until the block ends
            raise RuntimeError("a handler failed")
    assert out.writes == 1
    assert [json.loads(line)["message"] for line in out.getvalue().splitlines()] == [
        "first", "second"]
    logs.log("INFO", "outside")  # outside a block, each line is written at once
    assert out.writes == 2


def test_a_delivery_of_many_users_is_one_write(make_client, monkeypatch):
    client = make_client()
    out = CountingStdout()
    monkeypatch.setattr(sys, "stdout", out)
    events = [payloads.deactivation(f"User {i}", f"u{i}@example.com") for i in range(200)]
    assert post(client, payloads.envelope(events)).status_code == 200
    assert out.writes == 1 and len(out.getvalue().splitlines()) == 200


@pytest.mark.parametrize("name, login, user_id, described", [
    ("John Doe", "john.doe@example.com", "00u1", "John Doe (john.doe@example.com)"),
    ("John Doe", None, "00u1", "John Doe"),
    (None, "john.doe@example.com", "00u1", "john.doe@example.com"),
    ("", "", "00u1", "00u1"),
    (None, None, None, None),
])
def test_a_user_is_described_by_the_best_identity_known(name, login, user_id, described):
    assert user_description(name, login, user_id) == described


@pytest.mark.parametrize("record, line", [
    ({"severity": "INFO", "n": 1}, '{"severity":"INFO","n":1}\n'),
    # Not ASCII: written by the standard library, escaped, as compact as orjson's lines.
    ({"severity": "INFO", "name": "Jos\u00e9", "n": [1, 2]},
     '{"severity":"INFO","name":"Jos\\u00e9","n":[1,2]}\n'),
    ({"message": "\ud800"}, '{"message":"\\ud800"}\n'),  # a lone surrogate orjson refuses
])
def test_a_record_is_one_compact_ascii_line(record, line):
    assert encode(record) == line
