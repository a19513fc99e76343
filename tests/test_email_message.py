"""The confirmation as an EmailMessage: MIME structure, charset, headers, one recipient."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from orderbot.config import Settings, load_settings
from orderbot.email.message import OUTBOX_SENDER, compose_confirmation
from orderbot.email.template import EmailTemplate

REPO = Path(__file__).resolve().parent.parent

ANSWERS = {
    "order_number": "ORD-12345",
    "estimated_arrival_start_date": "2026-12-24",
    "estimated_arrival_end_date": "2026-12-31",
    "product_image_url": "https://example.com/boots.jpg",
    "product_name": "Bottes en cuir classiques — édition ✨",
    "style_id": "STY-789",
    "product_size": "10",
    "product_condition": "New",
    "purchase_price": "€150,00",
    "color": "Noir",
    "shipping_address": "12 rue de la Paix\n75002 Paris",
    "notes": "",
}


@pytest.fixture
def shop(tmp_path: Path) -> Settings:
    (tmp_path / "config.json").write_text('{"shop_name": "Northside Kicks"}')
    (tmp_path / "email_template.json").write_bytes(
        (REPO / "config" / "email_template.json").read_bytes()
    )
    environ = {"SENDER_EMAIL": "orders@northside.example", "SENDER_PASSWORD": "pw"}
    return load_settings(
        tmp_path, env_file=tmp_path / "none.env", environ=environ, require_token=False
    )


def compose(settings: Settings, **changes: object) -> EmailMessage:
    options: dict = {
        "answers": ANSWERS,
        "email": "jordan@example.com",
        "reference": "REF-7K3Q9XH2",
        "customer": "jordan_lee",
        "server_name": "Northside",
        "submitted_at": datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
    }
    options.update(changes)
    return compose_confirmation(settings, **options)


def reparse(message: EmailMessage) -> EmailMessage:
    """Serialise as SMTP would and parse back, as the receiving side sees it."""
    raw = message.as_bytes(policy=email.policy.SMTP)
    return email.message_from_bytes(raw, policy=email.policy.default)


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def test_compose_confirmation_is_multipart_alternative_text_then_html(shop: Settings) -> None:
    message = reparse(compose(shop))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert [p.get_content_charset() for p in parts] == ["utf-8", "utf-8"]


def test_compose_confirmation_keeps_non_ascii_text_intact(shop: Settings) -> None:
    message = reparse(compose(shop))
    text = body(message, "plain")
    html = body(message, "html")
    assert "Bottes en cuir classiques — édition ✨" in text
    assert "Bottes en cuir classiques — édition ✨" in html
    assert "€150,00" in html


def test_compose_confirmation_headers(shop: Settings) -> None:
    message = reparse(compose(shop))
    assert message["From"].addresses[0].display_name == "Northside Kicks"
    assert message["From"].addresses[0].addr_spec == "orders@northside.example"
    assert str(message["To"]) == "jordan@example.com"
    assert message["Subject"] == "Northside Kicks order confirmation REF-7K3Q9XH2"
    assert message["Message-ID"].endswith("@northside.example>")
    assert "REF-7K3Q9XH2" in message["Message-ID"]
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Reply-To"] is None


def test_compose_confirmation_sets_reply_to_when_configured(shop: Settings) -> None:
    message = compose(dataclasses.replace(shop, reply_to="help@northside.example"))
    assert str(message["Reply-To"]) == "help@northside.example"


def test_compose_confirmation_without_sender_uses_a_local_from_address(shop: Settings) -> None:
    outbox = dataclasses.replace(shop, sender_email=None, sender_password=None)
    message = compose(outbox)
    assert message["From"].addresses[0].addr_spec == OUTBOX_SENDER
    assert message["Message-ID"].endswith("@localhost>")


def test_compose_confirmation_addresses_exactly_one_recipient(shop: Settings) -> None:
    message = compose(shop, email="jordan@example.com")
    assert message.get_all("To") == ["jordan@example.com"]
    assert message.get_all("Cc") is None
    assert message.get_all("Bcc") is None


@pytest.mark.parametrize(
    "address",
    [
        "a@example.com, b@example.com",
        "Victim <v@example.com>",
        "x@example.com\r\nRCPT TO:<y@example.com>",
        "not-an-address",
    ],
)
def test_compose_confirmation_refuses_anything_but_one_address(
    shop: Settings, address: str
) -> None:
    with pytest.raises(ValueError, match="exactly one valid email address"):
        compose(shop, email=address)


def test_compose_confirmation_refuses_an_odd_reference(shop: Settings) -> None:
    with pytest.raises(ValueError, match="reference"):
        compose(shop, reference="REF-1\r\nBcc: x@example.com")


def test_compose_confirmation_customer_text_cannot_add_headers(shop: Settings) -> None:
    template = EmailTemplate("Order {{product_name}}", "<p>{{product_name}}</p>")
    hostile = "Boots =?UTF-8?Q?=0A?=Reply-To: attacker@evil.example\r\nBcc: victim@example.com\n"
    message = reparse(
        compose(
            dataclasses.replace(shop, template=template),
            answers={**ANSWERS, "product_name": hostile},
        )
    )
    assert message["Reply-To"] is None
    assert message["Bcc"] is None
    assert "\n" not in str(message["Subject"])
    assert "=?" not in str(message["Subject"])
    assert set(message.keys()) == {
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "X-Order-Reference",
        "Auto-Submitted",
        "Content-Type",
        "MIME-Version",
    }


def test_compose_confirmation_footer_is_in_both_parts_of_a_custom_template(shop: Settings) -> None:
    bare = EmailTemplate("Hello", "<html><body><p>{{product_name}}</p></body></html>")
    message = reparse(compose(dataclasses.replace(shop, template=bare)))
    for subtype in ("plain", "html"):
        content = " ".join(body(message, subtype).split())
        assert "Northside" in content
        assert "jordan_lee" in content
        assert "REF-7K3Q9XH2" in content
        assert "not a receipt from any retailer or brand" in content
