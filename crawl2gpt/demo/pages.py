"""Web pages for the demo crawl: made-up sites, one builder per kind of page, and HTML rendering.

Every page is a pure function of (seed, kind, index): `PageFactory(...).page(kind, i)` gives
the same `Page` wherever and whenever it is called, so duplicates can regenerate the page they
copy instead of keeping the whole crawl in memory. `render` turns a page into its HTML and
into the visible text a WET file carries (title line first, as Common Crawl's WET does).
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from html import escape

from crawl2gpt.demo import dups, text
from crawl2gpt.evaluation.synthetic_corpus import problem_lines

KIND_CODES = ("article", "arithmetic", "contamination", "spam", "non_english", "short",
              "redirect", "exact_duplicate", "near_duplicate")


@dataclass(frozen=True)
class Site:
    """A website's chrome: name, domain, menu, footer, and its theme's inline style and script."""

    name: str
    domain: str
    nav: tuple[str, ...]
    footer: tuple[str, ...]
    theme: str

    @functools.cached_property
    def header_html(self) -> str:
        links = "".join(f'<li><a href="/{slug(n)}/">{escape(n)}</a></li>' for n in self.nav)
        return (f'<header><a class="logo" href="/">{escape(self.name)}</a>'
                f"<nav><ul>{links}</ul></nav></header>")

    @functools.cached_property
    def footer_html(self) -> str:
        links = "".join(f'<li><a href="/{slug(f)}">{escape(f)}</a></li>' for f in self.footer[1:])
        return f"<footer><p>{escape(self.footer[0])}</p><ul>{links}</ul></footer>"


@dataclass
class Page:
    url: str
    kind: str
    """`article`, `spam/<how>`, `non_english/<lang>`, `short`, `redirect`, `arithmetic`, ..."""
    site: Site | None
    title: str
    blocks: list[tuple[str, str]]
    """(tag, text) in reading order: `p` body text, `h2` heading, `aside` boilerplate."""
    lang: str = "en"
    charset: str = "utf-8"
    byline: str | None = None
    banner: list[str] = field(default_factory=list)
    redirect_to: str | None = None
    truth: dict = field(default_factory=dict)
    """Ground truth about this page for `demo_corpus.json` (what it copies, what it plants)."""


def derived_seed(seed: int, *name: object) -> int:
    """An integer seed for one named part of the corpus, independent of every other part."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, (seed, *name))).encode()).digest()[:8],
                          "big")


def slug(words: str, limit: int = 6) -> str:
    ascii_words = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_words.lower())[:limit])


_CSS_SELECTORS = ("header", "nav", "main", "article", "aside", "footer", ".card", ".btn", ".grid",
                  ".hero", ".menu", ".logo", ".byline", ".share", ".related", ".sidebar",
                  ".widget", ".tag", ".pager", ".search")


def _theme(rng: random.Random, site_id: str) -> str:
    """Inline CSS and analytics script of a site's theme (a few KB, as real pages carry more)."""
    rnd = rng.random
    rules = []
    for _ in range(rng.randint(30, 50)):
        rules.append(f"{text.pick_one(rng, _CSS_SELECTORS)}-{int(rnd() * 100)}"
                     f"{{color:#{int(rnd() * 16) * 0x111111:06x};"
                     f"margin:{4 * int(rnd() * 8)}px {4 * int(rnd() * 8)}px;"
                     f"padding:{4 * int(rnd() * 6)}px;font-size:{8 + int(rnd() * 17)}px;"
                     f"border-radius:{2 * int(rnd() * 6)}px}}")
    flags = ",".join(f'"feature_{i}":{str(rng.random() < 0.5).lower()}' for i in range(12))
    return ("<style>body{margin:0;font-family:Georgia,serif;color:#222}" + "".join(rules)
            + "</style>\n<script>window.dataLayer=window.dataLayer||[];"
            "function gtag(){dataLayer.push(arguments)}gtag('js',new Date());"
            f"gtag('config','{site_id}');window.siteConfig={{{flags}}};</script>")


def render(page: Page) -> tuple[str, str]:
    """The page's HTML and its visible text (one line per block, `<title>` first)."""
    site = page.site
    head_title = f"{page.title} - {site.name}" if site else page.title
    texts = [head_title, page.title, page.byline or "", *page.banner, *(b for _, b in page.blocks)]
    escaped = escape("\x00".join(texts)).split("\x00")  # one call instead of one per block
    esc_head, esc_title, esc_byline = escaped[:3]
    esc_banner = escaped[3:3 + len(page.banner)]
    esc_blocks = escaped[3 + len(page.banner):]
    lines = [head_title]
    body = []
    if site:
        lines += [site.name, *site.nav]
        body.append(site.header_html)
    if page.banner:
        lines += page.banner
        body.append('<div id="consent">' + "".join(f"<p>{b}</p>" for b in esc_banner) + "</div>")
    lines.append(page.title)
    article = [f"<h1>{esc_title}</h1>"]
    if page.byline:
        lines.append(page.byline)
        article.append(f'<p class="byline">{esc_byline}</p>')
    for (tag, block), esc in zip(page.blocks, esc_blocks):
        lines.append(block)
        article.append(f'<aside class="share"><p>{esc}</p></aside>' if tag == "aside"
                       else f"<{tag}>{esc}</{tag}>")
    body.append("<main><article>" + "\n".join(article) + "</article></main>")
    head = [f'<meta charset="{page.charset}">', f"<title>{esc_head}</title>",
            '<meta name="viewport" content="width=device-width, initial-scale=1">']
    if site:
        lines += site.footer
        body.append(site.footer_html)
        head.append(site.theme)
    if page.byline:
        ld = {"@context": "https://schema.org", "@type": "Article", "headline": page.title,
              "author": page.byline}
        ld_json = json.dumps(ld).replace("</", "<\\/")
        head.append(f'<script type="application/ld+json">{ld_json}</script>')
    html = (f'<!DOCTYPE html>\n<html lang="{page.lang}">\n<head>\n' + "\n".join(head)
            + "\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")
    return html, "\n".join(lines)


@functools.lru_cache(maxsize=8192)
def english_site(seed: int, number: int) -> Site:
    """English site `number`: every number gets its own domain (word, suffix, then a counter)."""
    en = text.assets()["english"]
    order = random.Random(derived_seed(seed, "site-names"))
    words = order.sample(en["site_words"], len(en["site_words"]))
    suffixes = order.sample(en["site_suffixes"], len(en["site_suffixes"]))
    rng = random.Random(derived_seed(seed, "site", number))
    word, suffix = words[number % len(words)], suffixes[number // len(words) % len(suffixes)]
    extra = number // (len(words) * len(suffixes)) or ""
    domain = f"www.{word}{suffix}{extra}.{rng.choice(en['tlds'])}"
    name = f"{word.capitalize()} {suffix.capitalize()}"
    nav = tuple(rng.sample(en["nav"], rng.randint(5, 9)))
    footer = (f"© {rng.randint(2015, 2024)} {name}. All rights reserved.",
              *rng.sample(en["footer"], 4))
    return Site(name, domain, nav, footer, _theme(rng, f"G-{number:06d}"))


@functools.lru_cache(maxsize=4096)
def foreign_site(seed: int, lang: str, number: int) -> Site:
    """A local news site in `lang`, named after a city and a section."""
    spec = text.assets()["languages"][lang]
    rng = random.Random(derived_seed(seed, "site", lang, number))
    city, section = spec["city"][number % 10], spec["nav"][number // 10 % len(spec["nav"])]
    extra = number // (10 * len(spec["nav"])) or ""
    domain = f"www.{slug(city)}-{slug(section)}{extra}.{spec['tld']}"
    name = f"{city} {section}"
    footer = (f"© {rng.randint(2015, 2024)} {name}", *rng.sample(spec["nav"], 3))
    return Site(name, domain, tuple(spec["nav"]), footer, _theme(rng, domain))


class PageFactory:
    """Builds any page of the crawl from (kind, index); `counts` says how many of each exist."""

    def __init__(self, seed: int, counts: dict[str, int], eval_pairs: list[tuple[int, int]]):
        self.seed = seed
        self.counts = counts
        self.eval_pairs = eval_pairs
        self.held_out = frozenset(eval_pairs)
        self.n_sites = max(8, counts["article"] // 12)
        plan = random.Random(derived_seed(seed, "duplicates"))
        n_exact_spam = counts["exact_duplicate"] // 4
        n_exact_articles = counts["exact_duplicate"] - n_exact_spam
        chosen = plan.sample(range(counts["article"]),
                             min(counts["article"], n_exact_articles + counts["near_duplicate"]))
        self.exact_originals = [("article", i) for i in chosen[:n_exact_articles]]
        spam_slots = [(k, i) for k in sorted(counts) if k.startswith("spam/")
                      for i in range(counts[k])]
        self.exact_originals += plan.sample(spam_slots, min(len(spam_slots), n_exact_spam))
        self.near_originals = chosen[n_exact_articles:] or chosen  # tiny scales: share originals

    def rng(self, kind: str, index: int) -> random.Random:
        return random.Random(derived_seed(self.seed, "page", kind, index))

    def uid(self, kind: str, index: int) -> int:
        """A number unique to each page, used in its URL path."""
        return 100_000 + index * len(KIND_CODES) + KIND_CODES.index(kind.split("/")[0])

    def page(self, kind: str, index: int) -> Page:
        base, _, sub = kind.partition("/")
        builder = getattr(self, f"_{base}")
        return builder(index, sub) if sub else builder(index)

    def article_url(self, site: Site, title: str, when: tuple[int, int], uid: int) -> str:
        return f"https://{site.domain}/{when[0]}/{when[1]:02d}/{slug(title)}-{uid}"

    # -- builders, one per kind ------------------------------------------------------------------

    def _article(self, index: int) -> Page:
        rng = self.rng("article", index)
        art = text.article(rng)
        site = english_site(self.seed, rng.randrange(self.n_sites))
        when = (rng.randint(2015, 2024), rng.randint(1, 12))
        byline = f"By {art.author} · {when[1]}/{rng.randint(1, 28)}/{when[0]}"
        return Page(self.article_url(site, art.title, when, self.uid("article", index)),
                    "article", site, art.title, [("p", p) for p in art.paragraphs],
                    byline=byline, truth={"topic": art.topic})

    def _arithmetic(self, index: int) -> Page:
        """A worksheet of two-digit additions, none of them from the held-out evaluation set."""
        rng = self.rng("arithmetic", index)
        site = english_site(self.seed, rng.randrange(self.n_sites))
        blocks = [("p", "Work out each sum, then check your answer on the line below it.")]
        while len(blocks) < 2 * rng.randint(20, 40):
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            if (a, b) not in self.held_out:
                blocks += [("p", line) for line in text.addition_problem(a, b)]
        title = f"Two-digit addition practice, worksheet {index + 1}"
        url = f"https://{site.domain}/maths/worksheets/addition-{self.uid('arithmetic', index)}"
        return Page(url, "arithmetic", site, title, blocks)

    def _contamination(self, index: int) -> Page:
        """An ordinary article with a block of held-out evaluation problems pasted into it."""
        page = self._article(self.counts["article"] + index)  # a fresh article nobody copies
        rng = self.rng("contamination", index)
        pairs = rng.sample(self.eval_pairs, min(20, len(self.eval_pairs)))
        quiz = [("h2", "Answers to this week's quiz")]
        quiz += [("p", line) for a, b in pairs for line in problem_lines(a, b, "plus")]
        middle = len(page.blocks) // 2
        page.blocks[middle:middle] = quiz
        page.url = page.url.rsplit("-", 1)[0] + f"-{self.uid('contamination', index)}"
        page.kind = "contamination"
        page.truth = {"benchmark": "hidden_plus", "pairs": [list(p) for p in pairs]}
        return page

    def _spam(self, index: int, how: str) -> Page:
        rng = self.rng(f"spam/{how}", index)
        title, lines = text.SPAM_KINDS[how](rng)
        uid = self.uid("spam", index)
        if how in ("cookie_banner", "navigation_only"):
            site = english_site(self.seed, rng.randrange(self.n_sites))
            if how == "cookie_banner":
                url = f"https://{site.domain}/news/{slug(title)}-{uid}"
                return Page(url, "spam/cookie_banner", site, title, [("p", lines[-1])],
                            banner=lines[:-1])
            url = f"https://{site.domain}/category/{slug(title)}/{uid}"
        else:
            site = self.spam_site(rng, how, uid)
            url = f"https://{site.domain}/{slug(title)}-{uid}.html"
        return Page(url, f"spam/{how}", site, title, [("p", line) for line in lines])

    def spam_site(self, rng: random.Random, how: str, uid: int) -> Site:
        """A throwaway domain: a shop for keyword and offer spam, a theme demo for lorem ipsum."""
        spam = text.assets()["spam"]
        if how == "lorem_ipsum":
            domain = f"demo{uid}.{text.made_up_name(rng).lower()}-themes.com"
        else:
            shop = rng.choice(("shop", "deals", "store", "outlet", "mart", "direct"))
            tld = rng.choice(("biz", "net", "xyz", "top"))
            domain = f"{slug(rng.choice(spam['products']))}-{shop}{uid}.{tld}"
        name = domain.split(".")[0].replace("-", " ").title()
        nav = tuple(rng.sample(spam["nav_sections"], 6))
        return Site(name, domain, nav, (f"© {name}",), _theme(rng, domain))

    def _non_english(self, index: int, lang: str) -> Page:
        rng = self.rng(f"non_english/{lang}", index)
        title, paragraphs = text.foreign_page(rng, lang)
        n_sites = max(4, self.counts[f"non_english/{lang}"] // 6)
        site = foreign_site(self.seed, lang, rng.randrange(n_sites))
        spec = text.assets()["languages"][lang]
        url = f"https://{site.domain}/{slug(title)}-{self.uid('non_english', index)}"
        return Page(url, f"non_english/{lang}", site, title, [("p", p) for p in paragraphs],
                    lang=lang, charset=spec["charset"])

    def _short(self, index: int) -> Page:
        rng = self.rng("short", index)
        title, message = text.short_page(rng)
        site = english_site(self.seed, rng.randrange(self.n_sites))
        url = f"https://{site.domain}/{slug(title)}-{self.uid('short', index)}"
        return Page(url, "short", None, title, [("p", message), ("p", site.domain)])

    def _redirect(self, index: int) -> Page:
        rng = self.rng("redirect", index)
        site = english_site(self.seed, rng.randrange(self.n_sites))
        uid = self.uid("redirect", index)
        target = f"https://{site.domain}/new/{uid}"
        return Page(f"http://{site.domain.removeprefix('www.')}/old/{uid}", "redirect", None,
                    "301 Moved Permanently", [("p", "The document has moved here.")],
                    redirect_to=target)

    def _exact_duplicate(self, index: int) -> Page:
        """The same page at another URL: tracking parameters, plain http, or a mobile host."""
        original = self.page(*self.exact_originals[index % len(self.exact_originals)])
        scheme, rest = original.url.split("://", 1)
        variant = index % 3
        if variant == 0:
            url = f"{original.url}?utm_source=newsletter&utm_medium=email&utm_campaign={index}"
        elif variant == 1:
            url = f"http://{rest}?ref={index}"
        else:
            url = f"{scheme}://m.{rest.removeprefix('www.')}?v={index}"
        original.truth = {"duplicate_of": original.url}
        original.url, original.kind = url, "exact_duplicate"
        return original

    def _near_duplicate(self, index: int) -> Page:
        """An article copied with edits, tuned to a planned Jaccard similarity (word 5-grams)."""
        original = self._article(self.near_originals[index % len(self.near_originals)])
        how, target = dups.PLANS[index % len(dups.PLANS)]
        rng = self.rng("near_duplicate", index)
        blocks, site = list(original.blocks), original.site
        if how == "shuffled":
            old = rng.randrange(1, len(blocks))
            moved = blocks.pop(old)
            blocks.insert(rng.choice([i for i in range(1, len(blocks) + 1) if i != old]), moved)
        elif how == "republished":
            number = rng.randrange(self.n_sites)
            site = english_site(self.seed, number)
            if site == original.site:
                site = english_site(self.seed, (number + 1) % self.n_sites)
            boilerplate = text.assets()["english"]["boilerplate"]
            blocks += [("aside", b) for b in rng.sample(boilerplate, rng.randint(2, 4))]
        when = (rng.randint(2015, 2024), rng.randint(1, 12))
        url = self.article_url(site, original.title, when, self.uid("near_duplicate", index))
        variant = Page(url, "near_duplicate", site, original.title, blocks, byline=original.byline)
        source = dups.shingles(render(original)[1])
        copy = dups.shingles(render(variant)[1])
        target = dups.reachable(target, dups.jaccard(source, copy))
        for _ in range(3):  # a repeated phrase can keep a shingle alive: top up the edits
            inter = len(source & copy)
            edits = dups.edits_needed(inter, len(source) + len(copy) - inter, target)
            if edits == 0:
                break
            variant.blocks = dups.replace_words(variant.blocks, edits, rng,
                                                text.assets()["english"]["edit_words"])
            copy = dups.shingles(render(variant)[1])
        variant.truth = {"near_duplicate_of": original.url, "edit": how, "target_jaccard": target,
                         "jaccard": round(dups.jaccard(source, copy), 3)}
        return variant
