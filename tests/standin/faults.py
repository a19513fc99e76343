"""Faults a test injects into REST routes: error answers and added latency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import RequestRecord

__all__ = ["Fault", "FaultTable"]

_DEFAULT_MESSAGES = {
    400: "400: Bad Request",
    401: "401: Unauthorized",
    403: "Missing Permissions",
    404: "404: Not Found",
    429: "You are being rate limited.",
    500: "500: Internal Server Error",
    502: "502: Bad Gateway",
    503: "503: Service Unavailable",
}


@dataclass(slots=True, eq=False)
class Fault:
    """One injected fault on a route.

    With ``status`` set the route answers that status (and ``code``/``message``) instead of
    running; with only ``delay_s`` set the route runs normally after the delay. ``times`` is
    how many requests the fault hits (None: every one); ``when`` narrows it to requests for
    which it returns True.
    """

    route: str
    status: int | None = None
    code: int = 0
    message: str | None = None
    delay_s: float = 0.0
    times: int | None = 1
    retry_after_s: float = 0.05
    when: Callable[[RequestRecord], bool] | None = None
    hits: list[RequestRecord] = field(default_factory=list, repr=False)

    @property
    def exhausted(self) -> bool:
        """Return whether the fault has hit as many requests as it was allowed to."""
        return self.times is not None and len(self.hits) >= self.times

    def body(self) -> dict[str, Any]:
        """Return the JSON body of the error answer."""
        message = self.message or _DEFAULT_MESSAGES.get(self.status or 0, "Injected fault")
        body: dict[str, Any] = {"message": message, "code": self.code}
        if self.status == 429:
            body.update(retry_after=self.retry_after_s, **{"global": False})
        return body

    def headers(self) -> dict[str, str]:
        """Return extra headers for the error answer (429 needs Retry-After and Via)."""
        if self.status != 429:
            return {}
        # nextcord treats a 429 without a Via header as a Cloudflare ban and gives up.
        return {"Retry-After": f"{self.retry_after_s:.3f}", "Via": "1.1 google"}


class FaultTable:
    """The faults currently armed, looked up by route template in O(1)."""

    __slots__ = ("_by_route",)

    def __init__(self) -> None:
        self._by_route: dict[str, list[Fault]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_route)

    def add(self, fault: Fault) -> Fault:
        """Arm a fault."""
        self._by_route.setdefault(fault.route, []).append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault."""
        self._by_route.clear()

    def take(self, route: str, record: RequestRecord) -> Fault | None:
        """Return the fault that hits this request, counting the hit, or None."""
        faults = self._by_route.get(route)
        if not faults:
            return None
        for fault in faults:
            if fault.when is None or fault.when(record):
                fault.hits.append(record)
                if fault.exhausted:
                    faults.remove(fault)
                    if not faults:
                        del self._by_route[route]
                return fault
        return None
