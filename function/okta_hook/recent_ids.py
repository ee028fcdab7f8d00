"""A bounded memory of ids already handled, for Okta's at-least-once delivery.

Per instance and in memory: it catches Okta's retry of a delivery that reached us, which is the
common case, without a database. The oldest id is forgotten first once `capacity` is reached.
"""


class RecentIds:
    def __init__(self, capacity: int):
        self._capacity = capacity
        self._ids: dict[str, None] = {}  # insertion-ordered: the first key is the oldest

    def __contains__(self, item: str) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item: str) -> None:
        self._ids.pop(item, None)
        self._ids[item] = None
        if len(self._ids) > self._capacity:
            del self._ids[next(iter(self._ids))]
