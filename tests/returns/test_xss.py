"""RELIABILITY R25 for returns: script payloads through every free-text field (the customer's
note on the public form, decline reasons, inspection notes, the policy's texts) and the one
rich-text field (the policy's extra terms, Markdown) are never rendered executable."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils.html import escape

from opsdesk.core.roles import Role
from returns.models import ReturnRequest
from returns.services import requests
from returns.services.policy import PolicyReason
from tests.returns.factories import delivered_order, publish_policy

pytestmark = pytest.mark.django_db

BASE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p onclick="alert(1)" style="color:red">hi</p>',
    "<body onload=alert(1)>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<object data="x.swf"></object><embed src="x.swf">',
    '<form action="https://evil.example"><input name=q></form>',
    "<style>body{display:none}</style>",
    '<a href="https://ok.example" target="_blank" onmouseover="alert(1)">ok</a>',
    "<<script>script>alert(1)<</script>/script>",
    "<!--<script>alert(1)</script>-->",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example">',
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '<input autofocus onfocus="alert(1)">',
    "<marquee onstart=alert(1)>x</marquee>",
    "<audio src=x onerror=alert(1)>",
    "<isindex action=javascript:alert(1) type=image>",
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<scr<script>ipt>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=`x` onerror=`alert(1)`>",
    '<img """><script>alert(1)</script>">',
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<table background=javascript:alert(1)>",
    "<div style=\"background:url('javascript:alert(1)')\">",
    "<button formaction=javascript:alert(1)>x</button>",
    "<keygen autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)>",
    "<textarea autofocus onfocus=alert(1)>",
    "<x onclick=alert(1)>click</x>",
    "<a href=javascript&colon;alert(1)>x</a>",
    "<a href=&#106;avascript:alert(1)>x</a>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "{{ 7|add:7 }}{% csrf_token %}",
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    "[x](javascript:alert(1))",
    "![x](javascript:alert(1))",
]
assert len(BASE) >= 50


@pytest.mark.parametrize("payload", BASE)
def test_return_free_text_is_escaped_on_the_staff_page(payload, staff_client_for):
    publish_policy()
    order = delivered_order(lines=[(1, "10.00")])
    ret = requests.return_request_create(
        order_id=order.pk,
        lines={order.lines.get().pk: 1},
        reason="wrong_item",
        customer_note=payload,
        actor=None,
        source=ReturnRequest.Source.CUSTOMER,
    )
    requests.return_decline(return_id=ret.pk, actor=None, reason=payload[:255])
    client = staff_client_for(Role.CUSTOMER_SERVICE)
    body = client.get(ret.get_absolute_url()).content.decode()
    assert escape(payload) in body
    if "<" in payload or '"' in payload:
        assert payload not in body
    assert body.count(escape(payload)) >= 2  # the note and the decline reason, as text
    stored = ReturnRequest.objects.get()
    assert stored.customer_note == payload.strip()  # kept as text, escaped when shown


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.found.append((tag, attrs))


SAFE_TAGS = {
    "article",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "div",
    "p",
    "a",
    "code",
    "pre",
    "strong",
    "em",
    "b",
    "i",
    "br",
    "hr",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def _executable(html: str) -> list[str]:
    parser = _Elements()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.found:
        if tag not in SAFE_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "target", "formaction", "src"):
                problems.append(f"{tag}[{name}]")
            if name == "href" and not re.match(r"^(https?:|mailto:|/)", (value or "").strip()):
                problems.append(f"{tag}[href={value}]")
    return problems


def _article(body: str) -> str:
    return body[body.index("<article") : body.index("</article>")]


@pytest.mark.parametrize("payload", BASE)
def test_policy_texts_are_escaped_and_markdown_sanitised_on_the_public_page(payload, client):
    publish_policy(
        condition_required=payload[:255],
        reasons=[PolicyReason("other", payload[:120], 0, True)],
        extra_terms=f"Read this.\n\n{payload}\n\nMore.",
    )
    body = client.get(reverse("returns:policy_page")).content.decode()
    assert _executable(_article(body)) == []
    assert escape(payload[:120]) in body


def test_links_in_the_policy_terms_open_safely(client):
    publish_policy(extra_terms="See [our shop](https://shop.example).")
    body = client.get(reverse("returns:policy_page")).content.decode()
    assert '<a href="https://shop.example" rel="noopener noreferrer">our shop</a>' in body
