"""The order desk's rules, free of Discord: starting, filling, submitting and retrying orders."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cachetools import TTLCache

from orderbot import messages
from orderbot.config import Settings
from orderbot.errors import UserFacingError
from orderbot.form import parse_email_address, step_spec, validate_step
from orderbot.fsm.machine import Deliver, OrderMachine, TransitionNotAllowed
from orderbot.fsm.order import Order
from orderbot.fsm.states import STEP_OF_STATE, STEP_TRIGGERS, OrderState, Trigger
from orderbot.limits import DAY_SECONDS, Cooldown, DailyCap
from orderbot.sessions import SessionExists, SessionKey, SessionStore, SessionStoreFull
from orderbot.tasks import BackgroundTasks

log = logging.getLogger(__name__)

# Long enough to press "Cancel and start over" under the prompt that offered it;
# Discord's interaction tokens last 15 minutes.
RESTART_OFFER_SECONDS = 15 * 60


class InvalidEmail(UserFacingError):
    """Raised when the address given to /order_form or Change Email is not one valid address."""

    def __init__(self) -> None:
        super().__init__(messages.INVALID_EMAIL)


class CooldownActive(UserFacingError):
    """Raised when a customer starts orders faster than order_cooldown_seconds allows."""

    def __init__(self, seconds: float) -> None:
        super().__init__(messages.cooldown(seconds))


class EmailCapReached(UserFacingError):
    """Raised when a customer or an address has had as many emails today as allowed."""

    def __init__(self, seconds: float) -> None:
        super().__init__(messages.email_cap(seconds))


class DeskFull(UserFacingError):
    """Raised when the bot holds as many live orders as it is allowed to."""

    def __init__(self) -> None:
        super().__init__(messages.DESK_FULL)


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """What is remembered of a finished order, so /order_status can say what became of it."""

    reference: str
    state: OrderState


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of a submitted step: the problems found, or none if it was accepted."""

    problems: list[str]

    @property
    def accepted(self) -> bool:
        """Tell whether the step was saved."""
        return not self.problems


class OrderService:
    """Run the order desk: one live order per customer per server, from first form to email.

    Args:
        settings: the validated configuration (replaced on reload).
        deliver: sends an order's confirmation; raises DeliveryFailed on failure.
        tasks: where background work (deliveries, expiries) is tracked.
        timer: monotonic clock for idle time, cooldowns and caps.
        clock: wall clock for the submission time.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        deliver: Deliver,
        tasks: BackgroundTasks,
        timer: Callable[[], float] = time.monotonic,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.machine = OrderMachine(
            deliver=deliver,
            spawn=tasks.spawn,
            on_closed=self._closed,
            clock=clock,
        )
        self.sessions = SessionStore(
            machine=self.machine,
            spawn=tasks.spawn,
            maxsize=settings.max_live_orders,
            ttl_seconds=settings.session_timeout_seconds,
            timer=timer,
        )
        self._cooldown = Cooldown(settings.order_cooldown_seconds, timer=timer)
        self._emails_per_user = DailyCap(settings.max_emails_per_user_per_day, timer=timer)
        self._emails_per_address = DailyCap(settings.max_emails_per_address_per_day, timer=timer)
        size = settings.max_live_orders
        self._recent: TTLCache[SessionKey, ClosedOrder] = TTLCache(size, DAY_SECONDS, timer=timer)
        self._restart_email: TTLCache[SessionKey, str] = TTLCache(
            size, RESTART_OFFER_SECONDS, timer=timer
        )

    def apply_settings(self, settings: Settings) -> None:
        """Use reloaded settings for everything that can change while orders are live."""
        self.settings = settings
        self._cooldown.seconds = settings.order_cooldown_seconds
        self._emails_per_user.limit = settings.max_emails_per_user_per_day
        self._emails_per_address.limit = settings.max_emails_per_address_per_day

    def find(self, key: SessionKey) -> Order | None:
        """Return the customer's live order in that server, if any."""
        return self.sessions.get(key)

    def last_closed(self, key: SessionKey) -> ClosedOrder | None:
        """Return what became of the customer's last finished order in the past day."""
        return self._recent.get(key)

    def start(
        self,
        *,
        server_id: int,
        user_id: int,
        email: str,
        customer: str,
        server_name: str,
        channel_id: int | None,
    ) -> Order:
        """Open a new order after checking the address, the cooldown and the email caps.

        Raises:
            InvalidEmail, CooldownActive, EmailCapReached, DeskFull: refusals for the customer.
            SessionExists: the customer already has a live order here (offer to resume it).
        """
        address = parse_email_address(email)
        if address is None:
            raise InvalidEmail()
        key = (server_id, user_id)
        existing = self.sessions.get(key)
        if existing is not None:
            self._restart_email[key] = address
            raise SessionExists(existing)
        wait = self._cooldown.remaining(key)
        if wait > 0:
            raise CooldownActive(wait)
        self._check_email_caps(user_id, address)
        return self._open(
            Order(
                server_id=server_id,
                user_id=user_id,
                email=address,
                customer=customer,
                server_name=server_name,
                channel_id=channel_id,
            )
        )

    async def restart(self, order: Order) -> Order:
        """Cancel the customer's live order and open a fresh one in its place.

        The address is the one typed with the /order_form that offered the restart.
        The cooldown is not applied again: that /order_form already counted.

        Raises:
            TransitionNotAllowed: the old order is being emailed or already finished.
        """
        address = self._restart_email.pop(order.key, None) or order.email
        await self.cancel(order)
        self._check_email_caps(order.user_id, address)
        return self._open(
            Order(
                server_id=order.server_id,
                user_id=order.user_id,
                email=address,
                customer=order.customer,
                server_name=order.server_name,
                channel_id=order.channel_id,
            )
        )

    def _open(self, order: Order) -> Order:
        try:
            self.sessions.open(order)
        except SessionStoreFull:
            log.warning(
                "Live order limit of %d reached; refusing a new order", self.sessions.maxsize
            )
            raise DeskFull() from None
        self._cooldown.use(order.key)
        log.debug(
            "Order %s opened in server %s by user %s",
            order.reference,
            order.server_id,
            order.user_id,
        )
        return order

    def _check_email_caps(self, user_id: int, address: str) -> None:
        for cap, key in ((self._emails_per_user, user_id), (self._emails_per_address, address)):
            if not cap.allows(key):
                raise EmailCapReached(cap.seconds_until_free(key))

    async def begin(self, order: Order) -> None:
        """Move a freshly opened order to step 1, as its first form is shown."""
        if order.state is OrderState.IDLE:
            await self.machine.fire(order, Trigger.START)
        self.sessions.touch(order)

    async def submit_step(self, order: Order, step: int, raw: Mapping[str, str]) -> StepResult:
        """Validate one step's answers and, if they are good, save them and move on.

        A refused step keeps exactly what was typed in `order.drafts` for the Fix button.

        Raises:
            TransitionNotAllowed: the order is no longer at this step (nor in review).
        """
        trigger = Trigger.REVISE if order.state is OrderState.REVIEW else STEP_TRIGGERS[step]
        if trigger is not Trigger.REVISE and STEP_OF_STATE.get(order.state) != step:
            raise TransitionNotAllowed(order, trigger)
        self.sessions.touch(order)
        values, problems = validate_step(step_spec(step), raw)
        if problems:
            order.drafts[step] = dict(raw)
            return StepResult(problems)
        await self.machine.fire(order, trigger, values=values)
        order.drafts.pop(step, None)
        return StepResult([])

    async def submit(self, order: Order) -> None:
        """Submit the reviewed order; the email goes out in the background.

        Raises:
            TransitionNotAllowed: it was submitted already (a second click) or is not ready.
            EmailCapReached: the customer or the address has had enough emails today.
        """
        if not self.machine.may(order, Trigger.SUBMIT):
            raise TransitionNotAllowed(order, Trigger.SUBMIT)
        self._check_email_caps(order.user_id, order.email)
        await self.machine.fire(order, Trigger.SUBMIT)
        self._count_email(order)
        self.sessions.touch(order)
        log.info("Order %s submitted", order.reference)

    async def retry(self, order: Order, *, email: str | None = None) -> None:
        """Send a failed order's confirmation again, optionally to a corrected address.

        Raises:
            InvalidEmail: the new address is not valid.
            TransitionNotAllowed: the order is not waiting in `failed`.
            EmailCapReached: no emails left today for this customer or address.
        """
        trigger = Trigger.RETRY
        address = None
        if email is not None:
            address = parse_email_address(email)
            if address is None:
                raise InvalidEmail()
            trigger = Trigger.CHANGE_EMAIL
        if not self.machine.may(order, trigger):
            raise TransitionNotAllowed(order, trigger)
        self._check_email_caps(order.user_id, address or order.email)
        await self.machine.fire(order, trigger, email=address)
        self._count_email(order)
        self.sessions.touch(order)

    async def cancel(self, order: Order) -> None:
        """Cancel the order; nothing is sent.

        Raises:
            TransitionNotAllowed: it is being emailed or is already finished.
        """
        await self.machine.fire(order, Trigger.CANCEL)
        log.info("Order %s cancelled", order.reference)

    def _count_email(self, order: Order) -> None:
        self._emails_per_user.record(order.user_id)
        self._emails_per_address.record(order.email)

    def _closed(self, order: Order) -> None:
        self.sessions.close(order)
        self._recent[order.key] = ClosedOrder(order.reference, order.state)
