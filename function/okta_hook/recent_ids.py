"""A bounded memory of ids already handled, for Okta's at-least-once delivery.

Per instance and in memory: it catches Okta's retry of a delivery that reached us, which is the
common case, without a database. The oldest id is forgotten first once `capacity` is reached.
"""

from collections import OrderedDict


class RecentIds:
    def __init__(self, capacity: int):
        self._capacity = capacity
        # OrderedDict, not dict: forgetting the oldest of a plain dict (del d[next(iter(d))])
        # slows down as deleted slots pile up at its front, on every request once it is full.
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, item: str) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item: str) -> None:
        self._ids[item] = None
        self._ids.move_to_end(item)
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
