"""A stand-in for Okta: the event hook protocol (verification, deliveries, Okta's judgement) and a
fake org (token endpoint and System Log API) for the catch-up.

Used by `make demo`, `make smoke` and the tests. The hook side uses the standard library only;
the fake org checks JWTs with PyJWT and cryptography, which the catch-up itself uses.
"""
