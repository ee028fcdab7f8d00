"""The one exception that turns into a deliberate HTTP answer to the sender."""


class RequestRejected(Exception):
    """The sender got something wrong (or we cannot serve it): answer `status` with `reason`."""

    def __init__(self, status: int, reason: str, headers: dict | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
