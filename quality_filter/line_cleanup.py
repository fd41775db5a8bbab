"""Line-level cleanup of whole-page text: drop boilerplate lines, keep the rest of the document.

A line goes when it is
- `javascript`: a "JavaScript required / not supported" notice;
- `cookie`: a cookie or consent banner line;
- `policy`: a privacy-policy / terms link line (at most 10 words) or a copyright notice;
- `navigation`: a menu label, a breadcrumb, or part of a run of short lines without end
  punctuation (a menu rendered one item per line);
- `host_repeated`: a line found in many documents of the same host (a counting pass over the
  build gives `repeated_lines`; C4 removed lines repeated anywhere, this is per host).
Pattern rules only touch lines of at most `max_boilerplate_words` words, so article prose that
mentions cookies or JavaScript stays. `clean_text` is a pure function: the same text and the
same repeated-line set give the same result. Plain Python; no Beam.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from urllib.parse import urlsplit

from crawl2gpt.quality_filter.heuristics_config import LineCleanupConfig

STAGE = "line_cleanup"
HOST_REPEATED = "host_repeated"

_JAVASCRIPT = re.compile(
    r"(?:enable|activate|turn on|requires?|required|needs?|disabled|not supported|support)"
    r"\W+(?:\w+\W+){0,3}javascript|javascript\W+(?:\w+\W+){0,3}(?:enabled?|disabled|"
    r"required|needed|is off|turned off|support)|browser (?:does not|doesn't) support"
    r"|(?:update|upgrade) your browser|browser is (?:out of date|outdated)")
_COOKIE = re.compile(r"\b(?:use|uses|using|accept|allow|enable|store|set|place)\b[^.]{0,40}"
                     r"\bcookies\b|\bcookies? (?:policy|settings|preferences|consent|notice)\b"
                     r"|^cookies?$|\bgdpr\b|we value your privacy"
                     r"|manage (?:your )?(?:cookie |privacy )?preferences")
# Policy links count only in link-sized lines; copyright notices in any boilerplate-sized one.
_POLICY_LINK = re.compile(r"privacy (?:policy|notice|statement)|terms (?:of|and) (?:use|service"
                          r"|conditions)|cookie policy|\blegal notice\b|\bimpressum\b"
                          r"|\bimprint\b|\bdisclaimer\b")
POLICY_LINK_WORDS = 10
_COPYRIGHT = re.compile(r"all rights reserved|(?:©|\(c\)) ?(?:19|20)\d\d"
                        r"|copyright (?:©|\(c\)|(?:19|20)\d\d)")
_BREADCRUMB = re.compile(r"\s(?:>|»|›|/|\||::)\s")
# Labels that are navigation when they are the whole line (lower-cased, bullets stripped).
NAVIGATION_LABELS = frozenset("""
home|menu|main menu|search|login|log in|sign in|sign up|register|logout|log out|my account
|contact|contact us|about|about us|skip to content|skip to main content|skip navigation
|jump to navigation|jump to content|toggle navigation|navigation|back to top|top|next|previous
|prev|more|read more|show more|load more|share|share this|tweet|print|email|subscribe
|advertisement|sponsored|related|related articles|related posts|tags|categories|archives
|comments|leave a comment|reply|follow us|newsletter|sitemap|site map|faq|help
|accessibility help|close|open menu|loading|share on facebook|share on twitter|pin it
|previous post|next post|recent posts|popular posts|you may also like|see also
""".replace("\n", "").split("|"))
_EDGE = " \t•·-–—*●▪◦‣►→|:>»›"
_END_PUNCTUATION = (".", "!", "?", '"', "”", "。", "！", "？")


def line_key(line: str) -> int:
    """Hash of a line as compared across documents (case and spacing ignored)."""
    canonical = " ".join(line.lower().split())
    digest = hashlib.blake2b(canonical.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)  # fits Beam's 64-bit varint coder


def host_of(url: str | None) -> str | None:
    """Lower-cased host of a URL without `www.`; None without a usable URL."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def distinct_line_keys(text: str) -> set[int]:
    """Each distinct non-blank line's key once (a document counts once per line)."""
    return {line_key(line) for line in text.split("\n") if line.strip()}


def pattern_kind(line: str, config: LineCleanupConfig) -> str | None:
    """The boilerplate kind of a line by its own content, or None."""
    words = line.split()
    if not words or len(words) > config.max_boilerplate_words:
        return None
    lower = line.lower()
    categories = config.categories
    if "javascript" in categories and _JAVASCRIPT.search(lower):
        return "javascript"
    if "cookie" in categories and _COOKIE.search(lower.strip(_EDGE)):
        return "cookie"
    if "policy" in categories and (_COPYRIGHT.search(lower) or (
            len(words) <= POLICY_LINK_WORDS and _POLICY_LINK.search(lower))):
        return "policy"
    if "navigation" in categories and is_navigation(lower):
        return "navigation"
    return None


def is_navigation(lower: str) -> bool:
    label = lower.strip(_EDGE)
    if label in NAVIGATION_LABELS:
        return True
    parts = _BREADCRUMB.split(lower)
    return len(parts) >= 3 and all(len(p.split()) <= 4 for p in parts)


def is_short(line: str, config: LineCleanupConfig) -> bool:
    stripped = line.strip(_EDGE)
    return bool(stripped) and len(stripped.split()) <= config.menu_line_words \
        and not stripped.endswith(_END_PUNCTUATION)


def mark_menu_runs(lines: list[str], kinds: list[str | None], config: LineCleanupConfig) -> None:
    """Label runs of at least `menu_run_lines` short lines (blank lines do not break a run)."""
    run: list[int] = []
    for i, line in enumerate(lines + ["end of text."]):
        if not line.strip():
            continue
        if is_short(line, config):
            run.append(i)
            continue
        if len(run) >= config.menu_run_lines:
            for j in run:
                kinds[j] = kinds[j] or "navigation"
        run = []


def clean_text(text: str, config: LineCleanupConfig,
               repeated_lines: frozenset[int] | set[int] = frozenset()
               ) -> tuple[str, dict[str, int]]:
    """The text without boilerplate lines, and how many lines went, per kind."""
    lines = text.split("\n")
    kinds = [pattern_kind(line, config) for line in lines]
    if config.menu_run_lines and "navigation" in config.categories:
        mark_menu_runs(lines, kinds, config)
    if repeated_lines:
        for i, line in enumerate(lines):
            if kinds[i] is None and line.strip() and line_key(line) in repeated_lines:
                kinds[i] = HOST_REPEATED
    removed = Counter(k for k in kinds if k)
    if not removed:
        return text, {}
    kept = [line for line, kind in zip(lines, kinds) if kind is None]
    cleaned = re.sub(r"\n(?:[ \t]*\n)+", "\n\n", "\n".join(kept)).strip()
    return cleaned, dict(sorted(removed.items()))
