"""Text generators for the demo corpus: prose from sentence templates and small word lists.

Plain functions of a `random.Random`, no I/O besides reading the shipped assets
(`crawl2gpt/demo/assets/*.json`, < 100 KB). The same generator state always yields the same
text, on every machine: only `random.Random` methods whose output CPython keeps stable are used.
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass
from importlib import resources

_SLOT = re.compile(r"\{(\w+)\}")
_A_BEFORE_VOWEL = re.compile(r"\b([Aa]) (?=[AEIOUaeiou])")


class Template:
    """A sentence with `{slot}` holes; a capitalised slot name (`{Noun}`) capitalises its words."""

    __slots__ = ("format", "slots", "starts_with_slot")

    def __init__(self, text: str):
        parts = _SLOT.split(text)  # even indexes: literal text, odd indexes: slot names
        self.format = "{}".join(p.replace("{", "{{").replace("}", "}}") for p in parts[::2])
        self.slots = [(name.lower(), name[0].isupper()) for name in parts[1::2]]
        self.starts_with_slot = parts[0] == ""

    def fill(self, pick) -> str:
        text = self.format.format(*[_title_case(pick(name)) if title else pick(name)
                                    for name, title in self.slots])
        return text[0].upper() + text[1:] if self.starts_with_slot else text


def _english_articles(text: str) -> str:
    """"a" becomes "an" before a vowel, once slots are filled ("an award-winning film")."""
    return _A_BEFORE_VOWEL.sub(r"\1n ", text)


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def _templates(texts: list[str]) -> list[Template]:
    return [Template(t) for t in texts]


@functools.cache
def assets() -> dict:
    """The shipped word lists and templates, parsed once per process."""
    root = resources.files("crawl2gpt.demo.assets")
    data = {name: json.loads((root / f"{name}.json").read_text(encoding="utf-8"))
            for name in ("english", "languages", "reference", "spam")}
    en = data["english"]
    en["templates"] = _templates(en["templates"])
    en["title_templates"] = _templates(en["title_templates"])
    for lang in data["languages"].values():
        lang["templates"] = _templates(lang["templates"])
        lang["title"] = _templates(lang["title"])
    for kind in data["reference"]["kinds"].values():
        kind["intro"] = _templates(kind["intro"])
        kind["sections"] = {k: _templates(v) for k, v in kind["sections"].items()}
    book = data["reference"]["book"]
    book["titles"] = _templates(book["titles"])
    book["sentences"] = _templates(book["sentences"])
    spam = data["spam"]
    spam["buy_phrases"] = _templates(spam["buy_phrases"])
    spam["cookie_banner"] = _templates(spam["cookie_banner"])
    return data


@functools.cache
def topics() -> list[str]:
    return sorted(assets()["english"]["topics"])


def full_name(rng: random.Random) -> str:
    en = assets()["english"]
    return f"{pick_one(rng, en['first_names'])} {pick_one(rng, en['surnames'])}"


def pick_one(rng: random.Random, items: list):
    """`rng.choice` with one C call: the hot path of every generator (same on every machine)."""
    return items[int(rng.random() * len(items))]


def _picker(rng: random.Random, lists: dict[str, list[str]]):
    """A slot filler: word lists first, then numbers and names made on the spot."""
    rnd = rng.random
    dynamic = {
        "year": lambda: str(1950 + int(rnd() * 74)),
        "year2": lambda: str(2025 + int(rnd() * 11)),
        "num": lambda: str(2 + int(rnd() * 39)),
        "pct": lambda: str(10 + int(rnd() * 81)),
        "name": lambda: full_name(rng),
    }

    def pick(slot: str) -> str:
        words = lists.get(slot)
        return words[int(rnd() * len(words))] if words is not None else dynamic[slot]()
    return pick


@dataclass
class Article:
    """A blog or news article: what the crawl's decent pages carry."""

    topic: str
    title: str
    author: str
    paragraphs: list[str]


def article(rng: random.Random) -> Article:
    """Five to nine paragraphs of prose on one topic (about 250–750 words)."""
    en = assets()["english"]
    topic = pick_one(rng, topics())
    lists = dict(en["topics"][topic], city=en["cities"])
    pick = _picker(rng, lists)
    lengths = [rng.randint(3, 6) for _ in range(rng.randint(5, 9))]
    sentences = iter(rng.sample(en["templates"], sum(lengths)))  # no sentence twice per article
    paragraphs = [_english_articles(" ".join(next(sentences).fill(pick) for _ in range(n)))
                  for n in lengths]
    title = _english_articles(pick_one(rng, en["title_templates"]).fill(pick))
    return Article(topic, title, full_name(rng), paragraphs)


def foreign_page(rng: random.Random, lang: str) -> tuple[str, list[str]]:
    """A local-news page in another language: a title and 3–5 paragraphs (~150–350 words)."""
    spec = assets()["languages"][lang]
    lists = {k: spec[k] for k in ("noun", "city", "name", "day")}
    lists["noun2"], lists["city2"] = spec["noun"], spec["city"]
    pick = _picker(rng, lists)
    paragraphs = [" ".join(pick_one(rng, spec["templates"]).fill(pick)
                           for _ in range(rng.randint(3, 5))) for _ in range(rng.randint(3, 5))]
    return pick_one(rng, spec["title"]).fill(pick), paragraphs


def keyword_stuffing(rng: random.Random) -> tuple[str, list[str]]:
    """SEO spam: the same product keywords over and over."""
    spam, cities = assets()["spam"], assets()["english"]["cities"]
    product = pick_one(rng, spam["products"])
    quals = spam["qualifiers"]
    phrases = [f"{pick_one(rng, quals)} {product}", f"{product} {pick_one(rng, cities).lower()}",
               f"buy {product}", f"{product} online", f"{product} near me", f"{product} sale",
               f"{pick_one(rng, quals)} {pick_one(rng, quals)} {product}"]
    lines = [", ".join(pick_one(rng, phrases) for _ in range(rng.randint(6, 14)))
             for _ in range(rng.randint(6, 12))]
    return _title_case(f"{pick_one(rng, quals)} {product}"), lines


def buy_cheap(rng: random.Random) -> tuple[str, list[str]]:
    """Shop spam: shouting offers for one product."""
    spam = assets()["spam"]
    product = pick_one(rng, spam["products"])
    lists = {"product": [product], "qualifier": spam["qualifiers"],
             "qualifier2": spam["qualifiers"]}
    pick = _picker(rng, lists)
    lines = [pick_one(rng, spam["buy_phrases"]).fill(pick) for _ in range(rng.randint(8, 18))]
    return f"Buy {product} cheap", lines


def cookie_banner(rng: random.Random) -> tuple[str, list[str]]:
    """A page whose visible text is mostly the consent banner, with one paragraph of content."""
    banner = assets()["spam"]["cookie_banner"]
    pick = _picker(rng, {})
    lines = [t.fill(pick) for t in rng.sample(banner, rng.randint(6, len(banner)))]
    body = article(rng)
    return body.title, lines + [body.paragraphs[0]]


def navigation_only(rng: random.Random) -> tuple[str, list[str]]:
    """A hub page: menus and category links, no prose."""
    sections = assets()["spam"]["nav_sections"]
    groups = [rng.sample(sections, rng.randint(5, 12)) for _ in range(rng.randint(4, 8))]
    return pick_one(rng, sections), [" | ".join(g) for g in groups]


def lorem_ipsum(rng: random.Random) -> tuple[str, list[str]]:
    """A theme demo left online: placeholder Latin."""
    words = assets()["spam"]["lorem"]
    paragraphs = []
    for _ in range(rng.randint(2, 6)):
        sentences = (" ".join(rng.choices(words, k=rng.randint(6, 16))).capitalize() + "."
                     for _ in range(rng.randint(3, 7)))
        paragraphs.append(" ".join(sentences))
    return "Lorem ipsum dolor sit amet", paragraphs


SPAM_KINDS = {
    "keyword_stuffing": keyword_stuffing,
    "buy_cheap": buy_cheap,
    "cookie_banner": cookie_banner,
    "navigation_only": navigation_only,
    "lorem_ipsum": lorem_ipsum,
}


def short_page(rng: random.Random) -> tuple[str, str]:
    """An error or placeholder page with almost no text."""
    return tuple(pick_one(rng, assets()["spam"]["short_pages"]))


def addition_problem(a: int, b: int) -> tuple[str, str]:
    """One two-digit addition item as GPT-3's synthetic task writes it (question, answer line)."""
    return f"Q: What is {a} plus {b}?", f"A: {a + b}"


def made_up_name(rng: random.Random, ending: bool = False) -> str:
    syl = assets()["reference"]["syllables"]
    name = "".join(pick_one(rng, syl) for _ in range(rng.randint(1, 2)))
    name += pick_one(rng, assets()["reference"]["place_endings"]) if ending else pick_one(rng, syl)
    return name.capitalize()


def wiki_article(rng: random.Random) -> tuple[str, str]:
    """An encyclopedia entry about a made-up town, person or river: title and sectioned text."""
    ref = assets()["reference"]
    kind_name = pick_one(rng, sorted(ref["kinds"]))
    kind = ref["kinds"][kind_name]
    if kind_name == "person":
        title = f"{pick_one(rng, assets()['english']['first_names'])} {made_up_name(rng)}"
    elif kind_name == "river":
        title = f"{made_up_name(rng)} River"
    else:
        title = made_up_name(rng, ending=True)
    years = sorted(rng.sample(range(1100, 1990), 4))
    lists = {k: ref[v] for k, v in (("region", "regions"), ("country", "countries"),
                                    ("industry", "industries"), ("field", "fields"),
                                    ("work", "works"), ("nationality", "nationalities"),
                                    ("saint", "saints"))}
    lists.update(title=[title], other=[made_up_name(rng, True)], other2=[made_up_name(rng, True)],
                 river=[made_up_name(rng)], num=[f"{rng.randint(800, 90000):,}"],
                 num2=[str(rng.randint(12, 240)) for _ in range(3)],
                 num3=[str(rng.randint(3, 60)) for _ in range(3)],
                 **{f"year{i}": [str(y)] for i, y in enumerate(years)})
    pick = _picker(rng, lists)
    parts = [title, pick_one(rng, kind["intro"]).fill(pick)]
    for heading, templates in kind["sections"].items():
        chosen = sorted(rng.sample(range(len(templates)), rng.randint(3, min(6, len(templates)))))
        parts += [heading, " ".join(templates[i].fill(pick) for i in chosen)]
    return title, _english_articles("\n\n".join(parts))


def book(rng: random.Random, chapters: int) -> tuple[str, str]:
    """A novel-like text: chapters of narrative prose with a fixed cast of three characters.

    Each book draws on its own half of the places, objects, times and lines of dialogue, so two
    books share little beyond the sentence frames.
    """
    spec = assets()["reference"]["book"]
    lists = {slot: rng.sample(spec[key], len(spec[key]) // 2) for slot, key in
             (("place", "places"), ("thing", "things"), ("time", "times"), ("weather", "weather"),
              ("feeling", "feelings"), ("quote", "quotes"), ("question", "questions"))}
    lists.update({role: [pick_one(rng, spec[role])] for role in ("a", "b", "c")})
    pick = _picker(rng, lists)
    templates = spec["sentences"]
    title = pick_one(rng, spec["titles"]).fill(_picker(rng, {"place": [made_up_name(rng, True)]}))
    parts = [title.upper()]
    for number in range(1, chapters + 1):
        parts.append(f"CHAPTER {number}")
        parts += [" ".join(pick_one(rng, templates).fill(pick) for _ in range(rng.randint(3, 8)))
                  for _ in range(rng.randint(12, 20))]
    return title, "\n\n".join(parts)
