"""Rendering of the confirmation email: escaping, single pass, headers, footer, text part."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from orderbot.config import load_settings
from orderbot.email.template import (
    PLACEHOLDER_RE,
    PLACEHOLDERS,
    Confirmation,
    EmailTemplate,
    header_safe,
    render_email,
    unknown_placeholders,
)
from orderbot.errors import ConfigError
from orderbot.form import FORM_KEYS
from tests.samples import ANSWERS

REPO = Path(__file__).resolve().parent.parent
SHIPPED_TEMPLATE = REPO / "config" / "email_template.json"


def shipped_template() -> EmailTemplate:
    data = json.loads(SHIPPED_TEMPLATE.read_text(encoding="utf-8"))
    body = data["html_body"]
    return EmailTemplate(data["subject"], "\n".join(body) if isinstance(body, list) else body)


def confirmation(**answers: str) -> Confirmation:
    return Confirmation(
        answers={**ANSWERS, **answers},
        email="jordan@example.com",
        reference="REF-7K3Q9XH2",
        shop_name="Test Shop",
        server_name="Test Server",
        customer="jordan_lee",
        submitted_at=datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
    )


def render(template: EmailTemplate | None = None, **answers: str):
    return render_email(template or shipped_template(), confirmation(**answers))


def body_only(template_html: str, **answers: str) -> str:
    """Render a custom body and return the part before the code's footer."""
    html = render(EmailTemplate("s", template_html), **answers).html
    return html.split('\n<table role="presentation"')[0]


HOSTILE = [
    (
        "script tag",
        "<script>alert(1)</script>",
        "<script>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ),
    ("attribute breaker", '" onerror="x', '" onerror="x', "&quot; onerror=&quot;x"),
    ("single quote breaker", "' onmouseover='x", "' onmouseover", "&#x27; onmouseover=&#x27;x"),
    (
        "img injection",
        "<img src=x onerror=alert(1)>",
        "<img src=x",
        "&lt;img src=x onerror=alert(1)&gt;",
    ),
    ("ampersand", "Tom & Jerry", "Tom & Jerry", "Tom &amp; Jerry"),
    ("comment closer", "--><b>x</b>", "--><b>", "--&gt;&lt;b&gt;x&lt;/b&gt;"),
]


@pytest.mark.parametrize(
    ("case", "value", "absent", "present"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_render_html_escapes_hostile_values(
    case: str, value: str, absent: str, present: str
) -> None:
    html = render(product_name=value, notes=value).html
    assert absent not in html
    assert present in html


def test_render_html_escapes_values_inside_attributes() -> None:
    html = body_only(
        '<img src="{{product_image_url}}" alt="{{product_name}}">', product_name='" onerror="x'
    )
    assert html == '<img src="https://example.com/boots.jpg" alt="&quot; onerror=&quot;x">'


def test_render_is_a_single_pass_so_typed_placeholders_stay_literal() -> None:
    rendered = render(
        EmailTemplate("{{product_name}}", "<p>{{notes}}</p><p>{{email}}</p>"),
        notes="{{email}} and {{ reference }}",
        product_name="{{shop_name}}",
    )
    assert "{{email}} and {{ reference }}" in rendered.html
    assert rendered.html.count("jordan@example.com") == 1
    assert rendered.subject == "{{shop_name}}"
    assert "{{email}} and {{ reference }}" in rendered.text


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,<script>x</script>",
        "ftp://example.com/a.jpg",
        "//evil.example/x.jpg",
        'https://exa mple.com/a".jpg',
    ],
)
def test_render_html_drops_an_image_that_is_not_an_http_link(url: str) -> None:
    html = body_only(
        '<p>a</p><img src="{{product_image_url}}" alt="x"><p>b</p>', product_image_url=url
    )
    assert html == "<p>a</p><p>b</p>"


def test_render_html_keeps_an_http_image_link_escaped() -> None:
    html = body_only(
        '<img src="{{product_image_url}}">', product_image_url="https://example.com/a.jpg?w=1&h=2"
    )
    assert html == '<img src="https://example.com/a.jpg?w=1&amp;h=2">'


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="{{notes}}">x</a>', '<a href="">x</a>'),
        ('<p style="color:{{color}}">x</p>', '<p style="color:">x</p>'),
        ('<p onclick="{{notes}}">x</p>', '<p onclick="">x</p>'),
        ("<p title={{notes}}>x</p>", "<p title=>x</p>"),
        ("<p {{notes}}>x</p>", "<p >x</p>"),
        ("<style>p{color:{{color}}}</style>", "<style>p{color:}</style>"),
        ("<script>var a='{{notes}}'</script>", "<script>var a=''</script>"),
    ],
)
def test_render_html_leaves_customer_text_out_of_url_style_and_script(
    markup: str, expected: str
) -> None:
    assert (
        body_only(markup, notes="javascript:alert(1) x=y", color="red;background:url(x)")
        == expected
    )


def test_render_html_turns_newlines_into_line_breaks() -> None:
    html = body_only("<td>{{shipping_address}}</td>", shipping_address="1 Main St\r\nCity\rState")
    assert html == "<td>1 Main St<br>\nCity<br>\nState</td>"


def test_render_html_keeps_a_4000_character_value_whole() -> None:
    value = "x" * 3990 + "<>&\"'"
    html = body_only("<td>{{notes}}</td>", notes=value)
    assert html == "<td>" + "x" * 3990 + "&lt;&gt;&amp;&quot;&#x27;</td>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("\u202egpj.exe", "gpj.exe"),
        ("$150.00\u202e", "$150.00"),
        ("Bo\u200bots\u2060\ufeff", "Boots"),
        ("a\x00b\x07c\x1bd", "abcd"),
        (
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
            "family \U0001f468\u200d\U0001f469\u200d\U0001f467",
        ),
    ],
)
def test_render_html_removes_bidi_overrides_zero_width_and_control_characters(
    value: str, expected: str
) -> None:
    rendered = render(EmailTemplate("s", "<td>{{notes}}</td>"), notes=value)
    assert rendered.html.startswith(f"<td>{expected}</td>")
    assert f"Additional Notes: {expected}" in rendered.text


def test_render_html_shows_a_dash_for_an_empty_optional_answer() -> None:
    assert body_only("<td>{{notes}}</td>", notes="") == "<td>—</td>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Boots\r\nBcc: victim@example.com", "Boots Bcc: victim@example.com"),
        ("Boots\n", "Boots"),
        (
            "Order =?UTF-8?Q?=0A?=Reply-To: a@evil.example",
            "Order ?UTF-8?Q?=0A?=Reply-To: a@evil.example",
        ),
        ("a==?b", "a?b"),
        ("=\u200b?x", "?x"),
        ("tab\tand\x0bvt\u2028ls", "tab and vt ls"),
        ("\u202eevil", "evil"),
    ],
)
def test_header_safe_strips_line_breaks_controls_and_encoded_words(
    value: str, expected: str
) -> None:
    assert header_safe(value) == expected


def test_header_safe_cuts_long_values() -> None:
    assert len(header_safe("x" * 4000)) == 200


def test_render_subject_keeps_customer_line_breaks_out_of_the_header() -> None:
    rendered = render(
        EmailTemplate("Order {{product_name}}", "<p></p>"),
        product_name="Boots\r\nBcc: victim@example.com\r\n\r\nbody",
    )
    assert rendered.subject == "Order Boots Bcc: victim@example.com body"


def test_render_default_subject_has_no_customer_text() -> None:
    assert render(product_name="Anything").subject == "Test Shop order confirmation REF-7K3Q9XH2"


def test_render_email_formats_submitted_at_in_utc() -> None:
    later = dataclasses.replace(
        confirmation(),
        submitted_at=datetime(2026, 12, 3, 16, 5, tzinfo=timezone(timedelta(hours=2))),
    )
    rendered = render_email(EmailTemplate("{{submitted_at}}", "<p></p>"), later)
    assert rendered.subject == "2026-12-03 14:05 UTC"


def test_render_email_refuses_a_naive_submitted_at() -> None:
    naive = Confirmation(ANSWERS, "j@example.com", "REF-1", "S", "G", "c", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone"):
        render_email(shipped_template(), naive)


def test_render_email_refuses_answers_for_unknown_keys() -> None:
    with pytest.raises(ValueError, match="unknown form keys"):
        render(secret="x")


def test_render_email_footer_is_added_to_a_template_that_omits_it() -> None:
    rendered = render(EmailTemplate("Hi", "<html><body><p>Only this</p></body></html>"))
    for part in (rendered.html, rendered.text):
        assert "Test Server" in part
        assert "jordan_lee" in part
        assert "REF-7K3Q9XH2" in part
        assert "not a receipt from any retailer" in part
    assert rendered.html.index("not a receipt") < rendered.html.index("</body>")


@pytest.mark.parametrize(
    ("markup", "closer"),
    [
        ("<p>x</p><!-- the rest is hidden", "-->"),
        ("<p>x</p><style>.a{}", "</style>"),
        ('<p>x</p><div title="open', '">'),
        ("<p>x</p><!-- </body></html>", "-->"),
        ("<p>x</p><title", "></title>"),
    ],
)
def test_render_email_footer_cannot_be_swallowed_by_unclosed_markup(
    markup: str, closer: str
) -> None:
    html = render(EmailTemplate("s", markup)).html
    assert html.startswith(markup + closer + '\n<table role="presentation"')
    assert "not a receipt" in html


def test_render_email_footer_escapes_names() -> None:
    hostile = Confirmation(
        ANSWERS,
        "j@example.com",
        "REF-7K3Q9XH2",
        "Shop",
        "<b>Server</b>\r\nX",
        '"><script>x</script>',
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    rendered = render_email(EmailTemplate("s", "<p></p>"), hostile)
    assert "<script>" not in rendered.html
    assert "&lt;b&gt;Server&lt;/b&gt; X" in rendered.html


def test_render_text_is_a_readable_table_of_the_order() -> None:
    text = render(shipping_address="1 Main St\nCity", notes="").text
    assert "<" not in text.split("-- \n")[0]
    assert "Order Number:     ORD-12345" in text
    assert "Shipping Address: 1 Main St\n                  City" in text
    assert "Additional Notes: —" in text
    assert "Image URL:        https://example.com/boots.jpg" in text


def test_render_text_leaves_out_an_image_link_that_is_not_http() -> None:
    assert "javascript" not in render(product_image_url="javascript:alert(1)").text


def test_unknown_placeholders_lists_each_once() -> None:
    template = EmailTemplate("{{nope}} {{reference}}", "{{nope}} {{password}} {{ email }}")
    assert unknown_placeholders(template) == [
        ("subject", "nope"),
        ("html_body", "nope"),
        ("html_body", "password"),
    ]


def test_load_settings_refuses_a_template_with_an_unknown_placeholder(tmp_path: Path) -> None:
    (tmp_path / "email_template.json").write_text(
        json.dumps({"subject": "Hi {{discord_token}}", "html_body": "<p>{{shop_name}}</p>"})
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env_file=tmp_path / "none.env", environ={}, require_token=False)
    assert [(p.key, p.value) for p in caught.value.problems] == [("subject", "{{discord_token}}")]


def test_shipped_template_loads_and_uses_only_known_placeholders() -> None:
    template = shipped_template()
    assert unknown_placeholders(template) == []
    assert set(PLACEHOLDER_RE.findall(template.html_body)) <= PLACEHOLDERS


def test_shipped_template_shows_every_form_field() -> None:
    used = set(PLACEHOLDER_RE.findall(shipped_template().html_body))
    assert set(FORM_KEYS) <= used
    assert {"shop_name", "reference", "email"} <= used


def test_shipped_template_is_mobile_friendly_email_html() -> None:
    html = shipped_template().html_body
    assert "max-width:600px" in html
    assert 'name="viewport"' in html
    assert 'role="presentation"' in html
    assert "<style" not in html.lower()
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()


@pytest.mark.parametrize(
    "brand",
    [
        "nike",
        "adidas",
        "stockx",
        "goat",
        "amazon",
        "ebay",
        "apple",
        "google",
        "paypal",
        "jordan brand",
    ],
)
def test_shipped_template_names_no_third_party_brand(brand: str) -> None:
    template = shipped_template()
    # Only what a reader sees counts: markup such as x-apple-... meta names is not a brand.
    visible = re.sub(r"<[^>]*>", " ", template.subject + " " + template.html_body).lower()
    assert not re.search(rf"\b{brand}\b", visible)


def test_shipped_template_links_nothing_outside() -> None:
    html = shipped_template().html_body
    links = re.findall(r"https?://[^\"' >]+", html)
    assert links == ["http://www.w3.org/1999/xhtml"]
