"""Authentication of Okta's requests by the static header configured on the hook.

Okta signs nothing: the header value is the whole credential, so it is compared in constant time
against every accepted value (the current secret and, during a rotation, the previous one).
"""

import hmac
from typing import Sequence


def is_authorized(presented: Sequence[str], accepted: Sequence[bytes]) -> bool:
    """True when exactly one header was sent and it equals an accepted credential byte for byte."""
    if len(presented) != 1 or not presented[0].isascii():
        return False
    candidate = presented[0].encode("ascii")
    matched = False
    for credential in accepted:
        # No early exit: the time taken does not reveal which credential, if any, matched.
        matched |= hmac.compare_digest(candidate, credential)
    return matched
