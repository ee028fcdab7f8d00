"""Receiver settings, read once per instance from the environment.

Problems are collected rather than raised: a misconfigured instance must still start, refuse every
request (fail closed), and say in its log exactly which variable is wrong.
"""

import re
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_AUTH_HEADER = "Authorization"
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 9110 field value, ASCII only: visible characters, spaces and tabs.
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?")


@dataclass(frozen=True)
class Settings:
    # The credentials accepted in the auth header, current first. Never printed.
    accepted_credentials: tuple = field(default=(), repr=False)
    auth_header: str = DEFAULT_AUTH_HEADER
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    problems: tuple = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Settings":
        problems = []
        credentials = []
        for name, required in (("OKTA_HOOK_SECRET", True), ("OKTA_HOOK_SECRET_PREVIOUS", False)):
            # Stripped: HTTP drops surrounding white space from header values, and a secret
            # written with `echo` carries a trailing newline that would never match.
            value = environ.get(name, "").strip()
            if not value:
                if required:
                    problems.append(f"{name} is not set: every request is refused")
            elif not _HEADER_VALUE.fullmatch(value):
                # e.g. base64 wrapped at 76 columns: Okta could never send it, and every
                # delivery would get a 401, which Okta never retries.
                problems.append(f"{name} holds a character no HTTP header value can carry "
                                "(a line break, another control character or non-ASCII)")
            else:
                credentials.append(value.encode("ascii"))

        auth_header = environ.get("OKTA_HOOK_AUTH_HEADER", DEFAULT_AUTH_HEADER).strip()
        if not _HEADER_NAME.match(auth_header):
            problems.append("OKTA_HOOK_AUTH_HEADER is not a valid HTTP header name")

        max_body_text = environ.get("OKTA_HOOK_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES))
        max_body_bytes = whole_number(max_body_text) or 0
        if max_body_bytes <= 0:
            problems.append("OKTA_HOOK_MAX_BODY_BYTES must be a positive whole number of bytes")

        return cls(
            accepted_credentials=tuple(credentials),
            auth_header=auth_header,
            max_body_bytes=max_body_bytes,
            problems=tuple(problems),
        )


def whole_number(text: str) -> int | None:
    """`text` as a whole number, or None. ASCII digits only: str.isdigit() also accepts "²",
    which int() refuses."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None
