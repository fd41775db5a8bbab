"""Main-content extraction: find the article container, prune boilerplate inside, render the rest.

The page is walked once over resiliparse's DOM, dropping scripts, navigation, hidden elements and
blocks whose class or id names page furniture (`sidebar`, `comment`, ...). Every paragraph-like
block with enough text adds a score to its nearest ancestors (more for longer text and more
commas), scaled down by link density: the approach, weights and thresholds of Mozilla
Readability, the extractor behind Firefox's reader view. The best container, with its siblings
that score alike, is kept (grown to its <article> or <main> when that adds only a headline and
lead); inside it, lists, tables and divs that look like link farms or share bars are removed,
except blocks around a strong candidate or holding most of the text (page builders give every
wrapper a negative name such as `*-widget-container`); resiliparse then renders what is left as
plain text. If that yields under 500 characters, a second walk keeps the furniture-named blocks
and <noscript> (a wrapper named `site_header` may hold the article); a page where neither finds
text gives its whole visible text. Plain resiliparse `main_content=True` applies its class-name
rules on every level, so it loses such articles and keeps sidebars; scoring the container first
avoids both.
"""

from __future__ import annotations

import re

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import HTMLTree, NodeType

_ELEMENT, _TEXT = NodeType.ELEMENT, NodeType.TEXT

# Never text a reader sees as article: dropped before scoring.
_SKIP_TAGS = frozenset(
    "script style template svg iframe object embed canvas select button input textarea".split()
)
# Furniture by tag, dropped in the first walk only: some sites wrap the article in <aside>, or
# serve the whole page inside <noscript>.
_UNLIKELY_TAGS = frozenset("nav aside footer dialog noscript".split())
# Children that make a <div> a container rather than a paragraph of its own.
_BLOCK_TAGS = frozenset("blockquote dl div img ol p pre table ul section article figure".split())
_PARAGRAPH_TAGS = frozenset("p pre td section h2 h3 h4 h5 h6".split())
_COUNTED_TAGS = frozenset("p img li th tr table".split())
_CLEANED_TAGS = frozenset("div section table ul ol form fieldset".split())
_TAG_BONUS = {"div": 5, "pre": 3, "td": 3, "blockquote": 3, "address": -3, "ol": -3, "ul": -3,
              "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3, "h1": -5, "h2": -5, "h3": -5,
              "h4": -5, "h5": -5, "h6": -5, "th": -5}
_UNLIKELY_ROLES = frozenset(
    "menu menubar complementary navigation alert alertdialog dialog".split()
)
# Class/id words of page furniture, of words that rescue a container, and the score weights.
_UNLIKELY = re.compile(
    r"-ad-|ad-break|agegate|banner|breadcrumb|combx|comment|communit|cover-wrap|disqus|extra|"
    r"footer|gdpr|header|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|"
    r"social|sponsor|supplemental|pagination|pager|popup|"
    r"newsletter|signup|subscri|postmetadata|entry-meta|entry-utility|rating|disclaimer|"
    r"disclosure|sharedaddy|respond|author-(?:box|desc|info|bio)|caption", re.I)
_MAYBE = re.compile(r"and|article|body|column|content|main|shadow", re.I)
_POSITIVE = re.compile(r"article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|"
                       r"blog|story", re.I)
_NEGATIVE = re.compile(r"-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|"
                       r"footer|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|"
                       r"shoutbox|sidebar|skyscraper|sponsor|shopping|tags|widget", re.I)
_COMMAS = re.compile(r"[,\u060C\uFE50\uFE10\uFE11\u2E41\u2E34\u2E32\uFF0C]")
_MIN_ARTICLE_CHARS = 500  # below this, retry without dropping unlikely-named blocks
_STRONG = 0.25  # candidates scoring this share of the best one, and their wrappers, stay
_ARTICLE_GROWTH = 1.6  # an <article>/<main> around the chosen block, up to 1.6x its text
_BONUS_CHARS = 200  # a block with less text gets a share of its tag and class bonus
_GALLERY_CHARS = 200  # under this much text per image, a block with few <p> is a gallery


class _Block:
    """Text statistics of one element, summed over the descendants the walk kept."""

    __slots__ = ("node", "tag", "parent", "children", "chars", "link_chars", "commas",
                 "has_block", "score", "bonus", "counts", "loose_chars", "loose_commas")

    def __init__(self, node, tag: str, parent: _Block | None):
        self.node, self.tag, self.parent = node, tag, parent
        self.children: list[_Block] = []
        self.chars = self.link_chars = self.commas = 0
        self.loose_chars = self.loose_commas = 0  # text outside block children
        self.has_block = False
        self.score: float | None = None  # None: no paragraph scored it
        self.bonus = 0  # from its tag and class/id names
        self.counts: dict[str, int] = {}  # descendants per tag, for the tags in _COUNTED_TAGS
        if parent is not None:
            parent.children.append(self)

    @property
    def link_density(self) -> float:
        return self.link_chars / self.chars if self.chars else 0.0


def extract_main_text(html: str) -> str:
    """The article text of a page; failing that, all its visible text; '' without a body."""
    best = ""
    for strip_unlikely in (True, False):
        tree = HTMLTree.parse(html)
        if tree.body is None:
            return ""
        root, candidates = _score_page(tree.body, strip_unlikely)
        chosen = _choose(root, candidates)
        protected = _strong_paths(candidates)
        for block in chosen:
            _prune(block, protected)
        _keep_only(chosen)
        text = _render(tree, noscript=not strip_unlikely)
        if len(text) >= _MIN_ARTICLE_CHARS:
            return text
        best = max(best, text, key=len)
    # Scoring found no article (the text sits in <noscript>, or in no block at all): a page
    # with any visible text should not vanish here.
    return best if best.strip() else _render(HTMLTree.parse(html), noscript=True)


def _render(tree: HTMLTree, noscript: bool) -> str:
    return extract_plain_text(tree, main_content=False, alt_texts=False, links=False,
                              noscript=noscript)


def _class_weight(node) -> int:
    weight = 0
    for name in (node.class_name, node.id):
        if name:
            weight += 25 * (bool(_POSITIVE.search(name)) - bool(_NEGATIVE.search(name)))
    return weight


def _is_hidden(node) -> bool:
    if node.hasattr("hidden") or node.getattr("aria-hidden") == "true":
        return True
    style = node.getattr("style")
    if not style:
        return False
    style = style.replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _is_furniture(node, tag: str, strip_unlikely: bool) -> bool:
    if tag in _SKIP_TAGS or _is_hidden(node):
        return True
    if not strip_unlikely or tag in ("body", "a"):
        return False
    if tag in _UNLIKELY_TAGS:
        return True
    if node.getattr("role") in _UNLIKELY_ROLES:
        return True
    class_name, node_id = node.class_name, node.id
    if not class_name and not node_id:
        return False
    names = f"{class_name or ''} {node_id or ''}"
    return bool(_UNLIKELY.search(names)) and not _MAYBE.search(names)


def _score_page(body, strip_unlikely: bool) -> tuple[_Block, list[_Block]]:
    """Walk the body once (no recursion: pages nest deeply), removing furniture and scoring."""
    candidates: list[_Block] = []

    def add_score(block: _Block, value: float) -> None:
        if block.score is None:
            block.score = 0.0
            block.bonus = _TAG_BONUS.get(block.tag, 0) + _class_weight(block.node)
            candidates.append(block)
        block.score += value

    def close(block: _Block) -> None:
        parent = block.parent
        if parent is not None:
            parent.chars += block.chars
            parent.link_chars += block.link_chars
            parent.commas += block.commas
            if block.tag in _BLOCK_TAGS:
                parent.has_block = True
            else:
                parent.loose_chars += block.chars
                parent.loose_commas += block.commas
            counts = parent.counts
            for tag, n in block.counts.items():
                counts[tag] = counts.get(tag, 0) + n
            if block.tag in _COUNTED_TAGS:
                counts[block.tag] = counts.get(block.tag, 0) + 1
        is_paragraph = block.tag in _PARAGRAPH_TAGS or (block.tag == "div" and not block.has_block)
        if is_paragraph and block.chars >= 25:
            score_ancestors(parent, 1 + block.commas + min(block.chars // 100, 3))
        elif block.tag == "div" and block.loose_chars >= 25:
            score_ancestors(block, 1 + block.loose_commas + min(block.loose_chars // 100, 3))

    def score_ancestors(ancestor: _Block | None, points: float) -> None:
        level = 0
        while ancestor is not None and level < 5:
            add_score(ancestor, points / (1 if level == 0 else 2 if level == 1 else level * 3))
            ancestor, level = ancestor.parent, level + 1

    root = _Block(body, "body", None)
    stack: list[tuple[_Block, object, bool]] = [(root, body.first_child, False)]
    while stack:
        block, child, in_link = stack[-1]
        if child is None:
            stack.pop()
            close(block)
            continue
        stack[-1] = (block, child.next, in_link)
        if child.type == _TEXT:
            text = child.text.strip()
            if text:
                commas = len(_COMMAS.findall(text))
                block.chars += len(text)
                block.loose_chars += len(text)
                block.commas += commas
                block.loose_commas += commas
                if in_link:
                    block.link_chars += len(text)
        elif child.type == _ELEMENT:
            tag = child.tag
            if _is_furniture(child, tag, strip_unlikely):
                child.decompose()
            else:
                stack.append((_Block(child, tag, block), child.first_child, in_link or tag == "a"))
    for block in candidates:  # names count fully only for blocks with some text
        bonus = block.bonus
        if bonus > 0:
            bonus *= min(1.0, block.chars / _BONUS_CHARS)
        block.score = (block.score + bonus) * (1 - block.link_density)
    return root, candidates


def _choose(root: _Block, candidates: list[_Block]) -> list[_Block]:
    """The best-scoring container, raised to a shared ancestor if need be, plus its siblings."""
    if not candidates:
        return [root]
    ranked = sorted(candidates, key=lambda b: b.score, reverse=True)
    top = ranked[0]
    close_rivals = [b for b in ranked[1:5] if top.score > 0 and b.score >= 0.75 * top.score]
    if len(close_rivals) >= 3:  # several strong blocks: the article is what holds them
        ancestor = top.parent
        while ancestor is not None and ancestor is not root:
            if sum(_is_inside(b, ancestor) for b in close_rivals) >= 3:
                top = ancestor
                break
            ancestor = ancestor.parent
    top = _to_article(_climb(top, root), root)
    while top.parent is not None and top.parent is not root and len(top.parent.children) == 1:
        top = top.parent
    return [top] if top.parent is None else _with_siblings(top)


def _with_siblings(top: _Block) -> list[_Block]:
    """Siblings that score like the top block, or read like paragraphs, belong to the article."""
    top_score = top.score or 0.0
    threshold = max(10.0, top_score * 0.2)
    chosen = []
    for sibling in top.parent.children:
        same_class = sibling.node.class_name and sibling.node.class_name == top.node.class_name
        bonus = top_score * 0.2 if same_class else 0.0
        if sibling is top or (sibling.score is not None and sibling.score + bonus >= threshold):
            chosen.append(sibling)
        elif sibling.tag == "p" or (sibling.tag == "div" and not sibling.has_block):
            if sibling.chars > 80 and sibling.link_density < 0.25:
                chosen.append(sibling)
            elif 0 < sibling.chars <= 80 and sibling.link_chars == 0 and (
                sibling.node.text.rstrip().endswith(".")
            ):
                chosen.append(sibling)
    return chosen


def _to_article(top: _Block, root: _Block) -> _Block:
    """The enclosing <article> or <main> if it adds little text (its headline and lead)."""
    ancestor = top.parent
    while ancestor is not None and ancestor is not root:
        if ancestor.tag in ("article", "main"):
            return ancestor if ancestor.chars <= _ARTICLE_GROWTH * top.chars else top
        ancestor = ancestor.parent
    return top


def _climb(top: _Block, root: _Block) -> _Block:
    """Move up while an ancestor scores higher than the block below it (the article wrapper)."""
    last = top.score or 0.0
    threshold = last / 3
    parent = top.parent
    while parent is not None and parent is not root:
        if parent.score is not None:
            if parent.score < threshold:
                break
            if parent.score > last:
                return parent
            last = parent.score
        parent = parent.parent
    return top


def _is_inside(block: _Block, ancestor: _Block) -> bool:
    block = block.parent
    while block is not None:
        if block is ancestor:
            return True
        block = block.parent
    return False


def _strong_paths(candidates: list[_Block]) -> set[_Block]:
    """Blocks holding a candidate that scores at least half the best: pruning must not cut the
    article out of its own container (page builders name every wrapper `*-widget-*`)."""
    if not candidates:
        return set()
    floor = _STRONG * max(b.score for b in candidates)
    protected: set[_Block] = set()
    for block in candidates:
        if block.score >= floor and block.score > 0:
            while block is not None and block not in protected:
                protected.add(block)
                block = block.parent
    return protected


def _prune(container: _Block, protected: set[_Block]) -> None:
    """Remove link lists, share bars and similar blocks inside the chosen container, but never
    a block holding most of the text of the container or of a protected block around it."""
    stack = [(child, container.chars) for child in container.children]
    while stack:
        block, enclosing_chars = stack.pop()
        if (block.tag in _CLEANED_TAGS and block not in protected
                and 2 * block.chars <= enclosing_chars and _looks_like_boilerplate(block)):
            block.node.decompose()
        else:
            chars = block.chars if block in protected else enclosing_chars
            stack.extend((child, chars) for child in block.children)


def _looks_like_boilerplate(block: _Block) -> bool:
    counts = dict.fromkeys(_COUNTED_TAGS, 0) | block.counts
    if block.tag == "table" and (counts["th"] or counts["tr"] >= 10) and not counts["table"]:
        return False  # a data table
    weight = _class_weight(block.node)
    if weight < 0:
        return True
    if block.commas >= 10:
        return False
    is_list = block.tag in ("ul", "ol")
    paragraphs, images = counts["p"], counts["img"]
    return (
        (images > 1 and paragraphs / images < 0.5 and block.chars < _GALLERY_CHARS * images)
        or (not is_list and counts["li"] > paragraphs + 100)  # a long list of links
        or (not is_list and block.chars < 25 and (images == 0 or images > 2))
        or (not is_list and weight < 25 and block.link_density > 0.2)
        or (weight >= 25 and block.link_density > 0.5)
    )


def _keep_only(chosen: list[_Block]) -> None:
    """Cut every branch leading to none of the chosen blocks, so resiliparse renders just those."""
    kept = {block.node for block in chosen}
    on_path = set()
    for block in chosen:
        ancestor = block.parent
        while ancestor is not None and ancestor.node not in on_path:
            on_path.add(ancestor.node)
            ancestor = ancestor.parent
    for node in on_path:
        child = node.first_child
        while child is not None:
            following = child.next
            if child not in kept and child not in on_path:
                child.decompose()
            child = following
