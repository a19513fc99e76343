"""Every text a customer or staff member reads in Discord, in one place."""

from __future__ import annotations

import math
from collections.abc import Sequence

# Quoted word for word from SPEC §3 and the issues; external checks match these exactly.
INVALID_EMAIL = "❌ Invalid email address provided. Please use a valid email format."
ORDER_SUBMITTED_HEADING = "✅ **Order Submitted!**"
NO_ORDER_IN_PROGRESS = "No order in progress"
ORDER_EXPIRED = "This order has expired — run `/order_form` to start again"

GENERIC_ERROR = "⚠️ Something went wrong on our side. Please try again in a moment."
GUILD_ONLY = "Please use this command inside a server."
SHUTTING_DOWN = "🔧 The order desk is restarting. Please try again in a minute."
DESK_FULL = "🚧 The order desk is very busy right now. Please try again in a few minutes."
NOT_YOUR_ORDER = (
    "🚫 That button belongs to someone else's order. Run `/order_form` to start your own."
)
STAFF_ONLY = "🚫 `/run_diagnostics` is for staff with the **Manage Server** permission."

# Labels of buttons and forms.
CONTINUE_TO_STEP_2 = "Continue to Step 2"
CONTINUE_TO_FINAL_STEP = "Continue to Final Step"
SUBMIT_ORDER = "Submit Order"
CANCEL = "Cancel"
RESUME = "Resume"
CANCEL_AND_START_OVER = "Cancel and start over"
RETRY = "Retry"
CHANGE_EMAIL = "Change Email"
EMAIL_MODAL_TITLE = "Change Email"
EMAIL_FIELD_LABEL = "Email Address"
EMAIL_FIELD_PLACEHOLDER = "name@example.com"

# Command descriptions shown in Discord's command picker.
ORDER_FORM_DESCRIPTION = "Place an order: three short forms, a review, and a confirmation email."
ORDER_FORM_EMAIL_DESCRIPTION = "Where to send your order confirmation"
ORDER_STATUS_DESCRIPTION = "Show your order in progress and what comes next."
PING_DESCRIPTION = "Check that the bot is alive and how fast Discord reaches it."
DIAGNOSTICS_DESCRIPTION = "Staff: the bot's health, live orders and email delivery."

_CHECK_RULES = {
    "date": "must be a real date written YYYY-MM-DD",
    "url": "must be a link that starts with http:// or https://",
    "money": "must be an amount of money",
    "email": "must be one email address",
    "text": "is not valid",
}

# The summary of SPEC §3: one line per field, an emoji and a bold label.
SUMMARY_LINES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("🛍️", "Product", ("product_name",)),
    ("💵", "Total Paid", ("purchase_price",)),
    ("📅", "Estimated Arrival", ("estimated_arrival_start_date", "estimated_arrival_end_date")),
    ("🏷️", "Style ID", ("style_id",)),
    ("📏", "Size", ("product_size",)),
    ("🎨", "Color", ("color",)),
    ("✨", "Condition", ("product_condition",)),
    ("📦", "Shipping To", ("shipping_address",)),
)
# What only the customer's own copy and the staff copy show besides the summary lines.
EXTRA_LINES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("🔢", "Order Number", ("order_number",)),
    ("🖼️", "Image", ("product_image_url",)),
    ("📧", "Email", ("email",)),
    ("📝", "Notes", ("notes",)),
)
REFERENCE_LABEL = ("🧾", "Reference")
CUSTOMER_LABEL = ("👤", "Customer")
DATE_RANGE_JOINER = " to "

_STEP_TOPICS = {
    1: "order number, arrival dates, image and product",
    2: "style, size, condition, price and color",
    3: "shipping address and notes",
}

_STATE_PHRASES = {
    "idle": "just started",
    "step1": "filling in Step 1 of 3",
    "step2": "filling in Step 2 of 3",
    "step3": "filling in Step 3 of 3",
    "review": "ready for your review",
    "emailing": "submitted; the confirmation email is being sent",
    "failed": "submitted, but the confirmation email could not be sent",
}

_FAILURE_PHRASES = {
    "recipient_refused": "the mail server refused that address",
    "invalid_address": "that is not a valid email address",
    "unavailable": "the mail server is not answering right now",
}
_FAILURE_FALLBACK = "the shop's email is not working right now"


def field_required(label: str, example: str) -> str:
    """Say that a required field was left blank."""
    return f"❌ **{label}** is required, for example `{example}`."


def field_too_long(label: str, max_length: int) -> str:
    """Say that a field holds more characters than it allows."""
    return f"❌ **{label}** can be at most {max_length} characters long."


def field_invalid(label: str, kind: str, example: str) -> str:
    """Say that a field's value does not have the expected form."""
    return f"❌ **{label}** {_CHECK_RULES[kind]}, for example `{example}`."


def date_range_reversed(end_label: str, start_label: str, example: str) -> str:
    """Say that the end date comes before the start date."""
    return (
        f"❌ **{end_label}** cannot be before **{start_label}**; "
        f"use the same day or later, for example `{example}`."
    )


def duration(seconds: float) -> str:
    """Write a wait such as "25 seconds", "3 minutes" or "about 5 hours"."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = math.ceil(minutes / 60)
    return f"about {hours} hour{'s' if hours != 1 else ''}"


def countdown(seconds: float) -> str:
    """Write time left such as "12 min 30 s"."""
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def cooldown(seconds: float) -> str:
    """Say how long the customer must wait before starting another order."""
    return f"⏳ You can start another order in {duration(seconds)}."


def email_cap(seconds: float) -> str:
    """Say that today's confirmation emails are used up, and when more are possible."""
    return (
        "📭 You have reached today's limit of confirmation emails. "
        f"You can order again in {duration(seconds)}."
    )


def step_saved(step: int, steps: int) -> str:
    """Confirm a saved step and say what comes next."""
    following = step + 1
    topic = _STEP_TOPICS.get(following, "the last details")
    return f"✅ Step {step} of {steps} saved.\n**Step {following} of {steps}** is next: {topic}."


def continue_label(step: int, steps: int) -> str:
    """Label the button that opens the given step's form."""
    return CONTINUE_TO_FINAL_STEP if step == steps else f"Continue to Step {step}"


def fix_label(step: int) -> str:
    """Label the button that reopens a refused step with what was typed."""
    return f"Fix Step {step}"


def edit_label(step: int) -> str:
    """Label a review button that reopens one step."""
    return f"Edit Step {step}"


def step_refused(step: int, steps: int, problems: Sequence[str]) -> str:
    """List every problem of a refused step and how to fix them."""
    lines = [f"⚠️ Step {step} of {steps} needs a few fixes:", *problems]
    lines.append(f"Press **{fix_label(step)}** to correct them; everything you typed is kept.")
    return "\n".join(lines)


def review(reference: str, lines: Sequence[str]) -> str:
    """Show the whole order for review."""
    return "\n".join(
        [
            f"📋 **Review your order** ({reference})",
            *lines,
            "",
            f"All correct? Press **{SUBMIT_ORDER}**. Use an **Edit Step** button to change "
            "something, or **Cancel** to drop the order.",
        ]
    )


def resume_prompt(reference: str, where: str) -> str:
    """Offer to resume or restart when a customer runs /order_form with an order open."""
    return (
        f"📝 You already have an order in progress (**{reference}**, {where}). "
        "Pick up where you left off, or cancel it and start over."
    )


def where_you_are(reference: str, where: str) -> str:
    """Answer a button from a step that is already done."""
    return (
        f"↩️ That button is from a step you have finished. Order **{reference}** is "
        f"{where}. Press **{RESUME}** to carry on."
    )


def state_phrase(state: str) -> str:
    """Describe an order's state in a few words."""
    return _STATE_PHRASES.get(state, state)


def already_submitted(reference: str) -> str:
    """Answer a second click on Submit Order."""
    return f"✅ Order **{reference}** has already been submitted: one order, one email."


def still_sending(reference: str) -> str:
    """Answer /order_form while the customer's last order is still being emailed."""
    return (
        f"📧 Order **{reference}** is being sent right now. "
        "You can start a new order as soon as its confirmation is out."
    )


def sending(masked_email: str) -> str:
    """Tell the customer the confirmation email is on its way."""
    return f"📧 Sending your confirmation email to {masked_email}…"


def submitted_copy(lines: Sequence[str], masked_email: str) -> str:
    """Return the customer's own full copy of the submitted order."""
    return "\n".join([ORDER_SUBMITTED_HEADING, *lines, "", sending(masked_email)])


def public_summary(lines: Sequence[str]) -> str:
    """Return the order summary posted in the channel, without private fields."""
    return "\n".join([ORDER_SUBMITTED_HEADING, *lines])


def staff_copy(lines: Sequence[str]) -> str:
    """Return the full order as posted to the staff channel."""
    return "\n".join(["🗂️ **New order**", *lines])


def email_sent(reference: str, masked_email: str) -> str:
    """Report that the confirmation email was accepted for delivery."""
    return f"📧 Your confirmation email for **{reference}** is on its way to {masked_email}."


def email_recorded(reference: str) -> str:
    """Report an order kept by a shop that has no email account set up."""
    return (
        f"🗂️ Order **{reference}** is recorded. This shop has not set up confirmation "
        "emails yet, so none was sent."
    )


def email_failed(reference: str, masked_email: str, reason: str | None, ttl: str) -> str:
    """Report a failed confirmation and the ways out."""
    phrase = _FAILURE_PHRASES.get(reason or "", _FAILURE_FALLBACK)
    return (
        f"❌ We could not send the confirmation email for **{reference}** to {masked_email}: "
        f"{phrase}. Your order is kept for {ttl}: press **{RETRY}**, or **{CHANGE_EMAIL}** "
        "if the address is wrong."
    )


def retrying(masked_email: str) -> str:
    """Acknowledge a Retry or Change Email."""
    return f"🔁 Trying again: sending your confirmation email to {masked_email}…"


def cancelled(reference: str) -> str:
    """Confirm a cancelled order."""
    again = "Run `/order_form` to start again."
    return f"🗑️ Order **{reference}** cancelled. Nothing was sent. {again}"


def cannot_cancel(reference: str) -> str:
    """Refuse to cancel an order whose email is already being sent."""
    return f"📧 Order **{reference}** is already being sent and can no longer be cancelled."


def status(
    reference: str,
    state: str,
    steps_done: Sequence[bool],
    time_left: str,
    next_step: str,
) -> str:
    """Describe the caller's live order for /order_status."""
    marks = " · ".join(
        f"{'✅' if done else '⬜'} Step {number}" for number, done in enumerate(steps_done, 1)
    )
    return "\n".join(
        [
            f"📋 **Order {reference}**: {state_phrase(state)}",
            marks,
            f"⏱️ Expires after {time_left} without activity.",
            f"➡️ Next: {next_step}",
        ]
    )


def next_step(state: str, step: int | None) -> str:
    """Say what the customer should do next with their order."""
    if step is not None:
        return f"press **{RESUME}** to fill in Step {step}."
    if state == "review":
        return f"press **{RESUME}** to see the review and submit."
    if state == "failed":
        return f"press **{RESUME}**, then **{RETRY}** or **{CHANGE_EMAIL}**."
    if state == "emailing":
        return "nothing; you will hear here when the email has gone out."
    return f"press **{RESUME}** to begin."


def no_order(last_reference: str | None = None, last_state: str | None = None) -> str:
    """Answer /order_status when there is no live order, mentioning the last one."""
    if last_reference is None:
        return f"{NO_ORDER_IN_PROGRESS}. Run `/order_form` to start one."
    outcome = {
        "done": "was submitted",
        "cancelled": "was cancelled",
        "timeout": "expired after a stretch without activity",
    }.get(last_state or "", "is closed")
    return (
        f"{NO_ORDER_IN_PROGRESS}. Your last order **{last_reference}** {outcome}. "
        "Run `/order_form` to start a new one."
    )


_SMTP_STATES = {
    "ok": "the server accepts our login",
    "outbox": "not configured: emails are written to the outbox folder",
    "checking": "checking now; run the command again in a few seconds",
    "auth_failed": "the server refused our login: check SENDER_EMAIL and SENDER_PASSWORD "
    "(Gmail needs an app password)",
    "tls_unavailable": "TLS failed (no STARTTLS offered, or a certificate that does not "
    "verify), so the password is not sent",
    "auth_unsupported": "the server offers no login method we can use",
}
CHANNEL_DEFAULT = "not set: summaries go to the channel where the order was placed"
CHANNEL_NOT_SET = "not set"


def smtp_state(reason: str) -> str:
    """Describe the SMTP login check for staff."""
    mark = {"ok": "✅", "checking": "⏳"}.get(reason, "⚠️")
    return f"{mark} {_SMTP_STATES.get(reason, 'cannot reach or log in to the server')}"


def channel_ok(mention: str) -> str:
    """Say the bot may post in a channel."""
    return f"✅ {mention}: the bot can post"


def channel_blocked(mention: str) -> str:
    """Say the bot may not post in a channel."""
    return f"⚠️ {mention}: the bot cannot post (needs View Channel and Send Messages)"


def channel_missing(channel_id: int) -> str:
    """Say a configured channel is not visible to the bot."""
    return f"⚠️ channel {channel_id} not found, or the bot cannot see it"


def ping(latency_ms: int) -> str:
    """Answer /ping."""
    return f"Pong! Latency: {latency_ms}ms"


def diagnostics(rows: Sequence[tuple[str, str]]) -> str:
    """Lay out the /run_diagnostics report."""
    return "\n".join(["🩺 **Diagnostics**", *(f"**{name}:** {value}" for name, value in rows)])
