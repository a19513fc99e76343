"""Wait for a condition without polling: waiters are woken by the code that changes state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Notifier"]

T = TypeVar("T")


class Notifier:
    """Resolve waiters whose check turns non-None when the owner calls notify().

    Each waiter re-runs its check only when its owner reports a change, so an idle waiter
    costs nothing per request, and a notify() with no waiters is a single truth test.
    """

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[tuple[Callable[[], object], asyncio.Future[object]]] = []

    def __bool__(self) -> bool:
        return bool(self._waiters)

    async def wait(
        self,
        check: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109 - see Notifier.wait
        what: str,
    ) -> T:
        """Return check()'s first non-None result, raising TimeoutError after ``timeout``.

        The stand-in's waiters take a ``timeout`` argument instead of leaving it to the
        caller's asyncio.timeout (ruff ASYNC109) so that the TimeoutError says what was
        awaited: "timed out after 5 s waiting for a callback to interaction 123 (/ping)".
        """
        result = check()
        if result is not None:
            return result
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        entry: tuple[Callable[[], object], asyncio.Future[object]] = (check, future)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future  # type: ignore[return-value]
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}") from None
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    def notify(self) -> None:
        """Re-run the waiters' checks and wake those that are now satisfied."""
        if not self._waiters:
            return
        for entry in tuple(self._waiters):
            check, future = entry
            if future.done():
                continue
            try:
                result = check()
            except Exception as exc:  # a broken predicate must fail its waiter, not the caller
                future.set_exception(exc)
                continue
            if result is not None:
                future.set_result(result)
