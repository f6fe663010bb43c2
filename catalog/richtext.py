"""Product descriptions: rich text that staff type, sanitized before it is stored.

Descriptions are shown in the back office and sent to the web store, so only basic formatting
and links survive, links get rel="noopener noreferrer", and nothing executable is kept.
"""

import html
import re

import nh3

DESCRIPTION_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "blockquote",
    "a",
}
DESCRIPTION_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
_LOOKS_LIKE_HTML = re.compile(r"<\s*[a-zA-Z/!]")
_BLANK_LINE = re.compile(r"\n\s*\n")
# Block ends separate words ("<p>a</p><p>b</p>" reads "a b", not "ab").
_BLOCK_END = re.compile(r"</\s*(?:p|li|h[1-6]|blockquote|div|td|th)\s*>|<br\s*/?>", re.IGNORECASE)


def _plain_text_to_html(text: str) -> str:
    paragraphs = [p.strip() for p in _BLANK_LINE.split(text.replace("\r\n", "\n")) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )


def description_sanitize(text: str) -> str:
    """Basic formatting and safe links only; plain text typed in becomes paragraphs."""
    text = (text or "").strip()
    if not text:
        return ""
    if not _LOOKS_LIKE_HTML.search(text):
        text = _plain_text_to_html(text)
    return nh3.clean(
        text,
        tags=DESCRIPTION_TAGS,
        attributes=DESCRIPTION_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def description_text(description: str) -> str:
    """The words of a description: tags stripped, entities decoded, whitespace collapsed."""
    spaced = _BLOCK_END.sub(" ", description or "")
    text = nh3.clean(spaced, tags=set(), attributes={})
    return " ".join(html.unescape(text).split())


def description_text_length(description: str) -> int:
    return len(description_text(description))
