"""A stand-in for Okta's side of the event hook protocol: verification, deliveries, judgement.

Used by `make demo`, `make smoke` and the tests; standard library only.
"""
