"""Readers for Wikipedia as users get it: WikiExtractor `<doc>` files and `pages-articles` dumps.

Both give one `Document` per article whose text starts with the title line (WikiExtractor
writes it; the dump reader adds it so the two agree), `meta["title"]`, the page id as
`record_id` and the article URL. Dumps are streamed page by page; wikitext becomes plain
text with mwparserfromhell's `strip_code()` after templates, references, tables, files and
categories are removed; headings stay as plain lines.

Options: wikiextractor: none. wikipedia-xml: `namespaces` (list of namespace numbers kept,
[0] = articles), `base_url` (article URL prefix; default from `<siteinfo><base>`).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from typing import BinaryIO, Iterator
from urllib.parse import quote

import mwparserfromhell
from mwparserfromhell.nodes import ExternalLink, Heading, Tag, Wikilink
from mwparserfromhell.wikicode import Wikicode

from crawl2gpt.core.records import Document
from crawl2gpt.pipeline.sources import ReadContext, ReadItem
from crawl2gpt.pipeline.sources.compression import (
    CorruptStreamError,
    Line,
    iter_lines,
    open_decompressed,
)

# ----------------------------------------------------------------------------- WikiExtractor
_DOC_START = re.compile(rb"^<doc\s([^>]*)>\s*$")
_DOC_END = re.compile(rb"^</doc>\s*$")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def read_wikiextractor(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """Documents from WikiExtractor output (plain or compressed `wiki_NN` files).

    `source_offset` is the byte offset of the `<doc ...>` line in the decompressed file. A doc
    whose body is only its title line (how WikiExtractor writes a redirect) is rejected as
    `empty`; a `<doc>` without `</doc>` as `unterminated_doc`; text outside any doc as
    `text_outside_doc`.
    """
    open_doc: tuple[Line, dict[str, str]] | None = None
    body: list[bytes] | None = []
    size = 0
    try:
        for line in iter_lines(open_decompressed(stream, ctx.path), ctx.max_record_bytes):
            start = _DOC_START.match(line.data) if line.data is not None else None
            if start is not None:
                if open_doc is not None:
                    yield _unterminated(ctx, *open_doc)
                attributes = dict(_ATTRIBUTE.findall(start.group(1).decode("utf-8", "replace")))
                open_doc = (line, {k: html.unescape(v) for k, v in attributes.items()})
                body, size = [], 0
            elif open_doc is None:
                if line.data is None or line.data.strip():
                    yield ctx.reject("text_outside_doc", offset=line.offset, line=line.number)
            elif line.data is not None and _DOC_END.match(line.data):
                yield _wikiextractor_doc(ctx, open_doc[0], open_doc[1], body, size)
                open_doc = None
            else:
                size += line.size
                if body is not None and line.data is not None and size <= ctx.max_record_bytes:
                    body.append(line.data)
                else:
                    body = None
    except CorruptStreamError as e:
        yield ctx.reject("corrupt_stream", offset=None, error=str(e))
        return
    if open_doc is not None:
        yield _unterminated(ctx, *open_doc)


def _unterminated(ctx: ReadContext, start: Line, attributes: dict[str, str]) -> ReadItem:
    return ctx.reject("unterminated_doc", offset=start.offset, record_id=attributes.get("id"),
                      line=start.number, title=attributes.get("title"))


def _wikiextractor_doc(ctx: ReadContext, start: Line, attributes: dict[str, str],
                       body: list[bytes] | None, size: int) -> ReadItem:
    page_id, title = attributes.get("id"), attributes.get("title")
    where = {"line": start.number, "title": title}
    if body is None:
        return ctx.reject("record_too_large", offset=start.offset, record_id=page_id,
                          size=size, limit=ctx.max_record_bytes, **where)
    try:
        text = b"".join(body).decode("utf-8")
    except UnicodeDecodeError as e:
        return ctx.reject("invalid_utf8", offset=start.offset, record_id=page_id,
                          error=e.reason, **where)
    first, _, rest = text.lstrip("\n").partition("\n")
    if not text.strip() or (first.strip() == title and not rest.strip()):
        return ctx.reject("empty", offset=start.offset, record_id=page_id, **where)
    return Document.create(ctx.source.name, text, url=attributes.get("url"), record_id=page_id,
                           source_file=ctx.path, source_offset=start.offset,
                           meta={"title": title})


# ----------------------------------------------------------------------------- XML dumps
# Link namespaces whose links are not running text (localised names come from <siteinfo>):
# Media (-2), File (6, alias Image), Category (14).
_NON_TEXT_NAMESPACES = {-2: "Media", 6: "File", 14: "Category"}
# Tags whose content is not prose: footnotes, tables, galleries, maths, charts.
DROPPED_TAGS = frozenset({"ref", "references", "table", "gallery", "math", "chem", "ce",
                          "timeline", "imagemap", "score", "graph", "syntaxhighlight", "source"})
# Left in the text by strip_code: behaviour switches (`__NOTOC__`) and bold/italic quotes,
# which we parse as plain text (`skip_style_tags`): an unbalanced `'''` otherwise makes the
# parser give up on the rest of the page and leave its refs, tables and file links as markup.
_LEFTOVER_MARKUP = re.compile(r"__[A-Z]+__|'{2,}")


def wikitext_to_text(wikitext: str, dropped_link_prefixes: frozenset[str]) -> str:
    """Plain text of an article's wikitext: markup stripped, non-prose parts removed."""
    code = mwparserfromhell.parse(wikitext, skip_style_tags=True)
    _drop_non_prose(code, dropped_link_prefixes)
    return _LEFTOVER_MARKUP.sub("", code.strip_code(normalize=True, collapse=True)).strip()


def _drop_non_prose(code: Wikicode, dropped_link_prefixes: frozenset[str]) -> None:
    """Delete dropped tags and file/category links in place, at any depth that strip keeps."""
    nodes = code.nodes
    for i in range(len(nodes) - 1, -1, -1):
        node = nodes[i]
        if isinstance(node, Tag):
            if str(node.tag).strip().lower() in DROPPED_TAGS:
                del nodes[i]
            elif node.contents is not None:
                _drop_non_prose(node.contents, dropped_link_prefixes)
        elif isinstance(node, Wikilink):
            prefix, colon, _ = str(node.title).strip().partition(":")
            if colon and prefix.strip().lower() in dropped_link_prefixes:
                del nodes[i]
            elif node.text is not None:
                _drop_non_prose(node.text, dropped_link_prefixes)
        elif isinstance(node, Heading):
            _drop_non_prose(node.title, dropped_link_prefixes)
        elif isinstance(node, ExternalLink) and node.title is not None:
            _drop_non_prose(node.title, dropped_link_prefixes)


def article_url(base_url: str | None, title: str) -> str | None:
    """`https://en.wikipedia.org/wiki/` + title as MediaWiki writes it (spaces → `_`)."""
    if not base_url:
        return None
    return base_url + quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


def read_wikipedia_xml(stream: BinaryIO, ctx: ReadContext) -> Iterator[ReadItem]:
    """Articles of a MediaWiki `pages-articles` XML dump (.bz2, .gz or plain), streamed.

    Pages outside `namespaces` are skipped (`read_skipped_namespace`), redirects too
    (`read_skipped_redirect`); both are counted, not rejected. `source_offset` is None (the
    XML parser gives no byte offsets): `record_id`, the page id, locates the page in the dump.
    `crawl_date` is the revision timestamp. A dump cut off between pages (no `</mediawiki>`)
    is counted as `read_skipped_truncated_dump`; one cut inside a page rejects that page.
    """
    namespaces = {str(n) for n in ctx.option("namespaces", [0])}
    base_url = ctx.option("base_url")
    dropped = {name.lower() for name in _NON_TEXT_NAMESPACES.values()} | {"image"}
    root = page_id = title = None
    in_page = False
    try:
        events = ET.iterparse(open_decompressed(stream, ctx.path), events=("start", "end"))
        for event, element in events:
            tag = element.tag.rpartition("}")[2]
            if root is None:
                root = element
            elif event == "start":
                in_page = in_page or tag == "page"
            elif tag == "siteinfo":
                base_url = base_url or _site_base_url(element)
                dropped |= _site_namespace_names(element)
            elif tag == "page":
                page_id, title = _child_text(element, "id"), _child_text(element, "title")
                yield _page_to_item(element, ctx, namespaces, base_url, frozenset(dropped))
                in_page = False
                root.clear()
    except ET.ParseError as e:
        if in_page:
            yield ctx.reject("truncated_page", offset=None, error=str(e), after_page=page_id)
        else:
            yield ctx.skip("truncated_dump")
    except CorruptStreamError as e:
        yield ctx.reject("corrupt_stream", offset=None, error=str(e), after_page=page_id,
                         after_title=title)


def _child_text(element: ET.Element, name: str) -> str | None:
    """Text of the first direct child named `name`, whatever the export schema namespace."""
    for child in element:
        if child.tag.rpartition("}")[2] == name:
            return child.text
    return None


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if c.tag.rpartition("}")[2] == name), None)


def _site_base_url(siteinfo: ET.Element) -> str | None:
    base = _child_text(siteinfo, "base")  # e.g. https://en.wikipedia.org/wiki/Main_Page
    return base.rpartition("/")[0] + "/" if base and "/" in base else None


def _site_namespace_names(siteinfo: ET.Element) -> set[str]:
    names: set[str] = set()
    declared = _child(siteinfo, "namespaces")
    for namespace in declared if declared is not None else ():
        if int(namespace.get("key", "0")) in _NON_TEXT_NAMESPACES and namespace.text:
            names.add(namespace.text.lower())
    return names


def _page_to_item(page: ET.Element, ctx: ReadContext, namespaces: set[str],
                  base_url: str | None, dropped: frozenset[str]) -> ReadItem:
    if _child_text(page, "ns") not in namespaces:
        return ctx.skip("namespace")
    revision = _child(page, "revision")
    if revision is None:
        revision = ET.Element("revision")
    wikitext = _child_text(revision, "text") or ""
    if _child(page, "redirect") is not None or wikitext.lstrip()[:9].lower() == "#redirect":
        return ctx.skip("redirect")
    page_id, title = _child_text(page, "id"), _child_text(page, "title") or ""
    where = {"title": title}
    if len(wikitext.encode("utf-8")) > ctx.max_record_bytes:
        return ctx.reject("record_too_large", offset=None, record_id=page_id,
                          limit=ctx.max_record_bytes, **where)
    body = wikitext_to_text(wikitext, dropped)
    if not body:
        return ctx.reject("empty", offset=None, record_id=page_id, **where)
    return Document.create(ctx.source.name, f"{title}\n\n{body}\n",
                           url=article_url(base_url, title), record_id=page_id,
                           source_file=ctx.path, source_offset=None,
                           crawl_date=_child_text(revision, "timestamp"), meta=where)
