"""Benchmark ingestion for contamination checks: JSONL files -> examples of normalised words.

Formats (one JSON object per line; .jsonl or .jsonl.gz). Every field of a record must be known
to its format; fields marked n-grammed are turned into word sequences, the others are ignored.

| format            | n-grammed fields (sequence built from them)         | ignored fields |
|-------------------|-----------------------------------------------------|----------------|
| `synthetic`       | `context` + `completion` (GPT-3's task files)       |                |
| `multiple_choice` | `query` + each of `choices` (one sequence a choice) | `gold`         |
| `lambada`         | `context` + `continuation`                          |                |
| `winograd`        | each of `context_options` + `continuation`          | `gold`         |
| `triviaqa`        | `context` + `answer` (the text the model sees)      | `aliases`      |
| `generic`         | the configured `generic_fields`, in order           | configured     |

The generic mapping (`ContaminationConfig.generic_fields` / `generic_ignored_fields`, per
benchmark name) n-grams the listed fields and allows the ignored ones, which may be missing.
A list-valued field fans out: one sequence per element, joined with the other fields. An
example's n-grams are those of all its sequences. A format is detected from the exact field set
of the first record, or set per benchmark (`ContaminationConfig.formats`).

Scaffolding shared by every example of a task is excluded, per field, before n-gramming:
a line-leading label (`Question:`, `Answer:`, `Q:`, `Passage:` ...) found in every value of the
field, then the longest word prefix and suffix common to every value (GPT-3's "Q: What is
... A:", TriviaQA's "Question: ... Answer:", "What is the sum of the digits of the number").
A benchmark with a single value per field has nothing to compare, so nothing is stripped.
What was stripped is recorded in `Benchmark.scaffolding`.

Bad input (broken JSON, a non-object, unknown or missing fields, a non-text field) raises
`BenchmarkError` naming file and line, or, with `on_bad_line="skip"`, is skipped and counted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from crawl2gpt.dedup.ngrams import normalized_words


class BenchmarkError(ValueError):
    """A benchmark file cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class FormatSpec:
    fields: tuple[str, ...]
    """N-grammed fields, in sequence order (str or list of str)."""
    ignored: tuple[str, ...] = ()
    """Fields allowed but not n-grammed."""
    ignored_required: bool = True
    """Named formats require their ignored fields too; the generic mapping does not."""

    def allowed(self) -> set[str]:
        return set(self.fields) | set(self.ignored)


FORMATS: dict[str, FormatSpec] = {
    "synthetic": FormatSpec(("context", "completion")),
    "multiple_choice": FormatSpec(("query", "choices"), ("gold",)),
    "lambada": FormatSpec(("context", "continuation")),
    "winograd": FormatSpec(("context_options", "continuation"), ("gold",)),
    "triviaqa": FormatSpec(("context", "answer"), ("aliases",)),
}

_LABEL = re.compile(r"(?m)^[ \t]*([A-Za-z][A-Za-z ]{0,19}?)[ \t]*:")
_EXTENSIONS = (".jsonl.gz", ".jsonl")


def example_id(benchmark_name: str, example: dict[str, Any], occurrence: int = 0) -> str:
    """The stable id of a benchmark example: its benchmark name and content (canonical JSON).

    `occurrence` tells apart identical rows of one file (the k-th copy, in file order, gets k);
    the first copy's id depends on content only. The evaluation harness uses this function too.
    """
    h = hashlib.blake2b(digest_size=16)
    h.update(benchmark_name.encode("utf-8"))
    h.update(b"\x00")
    h.update(json.dumps(example, sort_keys=True, ensure_ascii=False,
                        separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if occurrence:
        h.update(f"\x00{occurrence}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class BenchmarkExample:
    id: str
    line: int
    sequences: tuple[tuple[str, ...], ...]
    """Normalised word sequences, scaffolding removed."""

    def min_length(self) -> int:
        return min((len(s) for s in self.sequences), default=0)


@dataclass
class Benchmark:
    name: str
    path: str
    format: str
    examples: list[BenchmarkExample]
    synthetic: bool = False
    scaffolding: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per field: the labels, prefix and suffix words removed as shared scaffolding."""
    skipped_lines: int = 0
    problems: list[str] = field(default_factory=list)
    """The first few messages about skipped lines."""


def benchmark_name(path: str) -> str:
    base = os.path.basename(path)
    for ext in _EXTENSIONS:
        if base.endswith(ext):
            return base[: -len(ext)]
    raise BenchmarkError(f"{path}: not a benchmark file (expected {' or '.join(_EXTENSIONS)})")


def benchmark_files(paths: list[str]) -> list[str]:
    """The benchmark files named by `paths` (files, or folders searched recursively), sorted."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for root, _, names in os.walk(path):
                found += [os.path.join(root, n) for n in names if n.endswith(_EXTENSIONS)]
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise BenchmarkError(f"{path}: benchmark file or folder not found")
    files = sorted(set(found))
    names = [benchmark_name(f) for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise BenchmarkError(f"benchmark names must be unique; {dup} name several files: "
                             + ", ".join(f for f, n in zip(files, names) if n in dup))
    return files


def format_spec(name: str, config) -> tuple[str | None, FormatSpec | None]:
    """The configured (format, spec) of benchmark `name`, or (None, None) to detect them."""
    if name in config.generic_fields or config.formats.get(name) == "generic":
        if name not in config.generic_fields:
            raise BenchmarkError(f"benchmark {name!r}: format 'generic' needs "
                                 f"contamination.generic_fields.{name}")
        return "generic", FormatSpec(tuple(config.generic_fields[name]),
                                     tuple(config.generic_ignored_fields.get(name, ())), False)
    fmt = config.formats.get(name)
    if fmt is None:
        return None, None
    if fmt not in FORMATS:
        raise BenchmarkError(f"benchmark {name!r}: unknown format {fmt!r}; known: "
                             f"{sorted(FORMATS) + ['generic']}")
    return fmt, FORMATS[fmt]


def _open_binary(path: str) -> BinaryIO:
    return open(path, "rb")


def _read_lines(path: str, opener: Callable[[str], BinaryIO]) -> Iterator[tuple[int, str]]:
    with opener(path) as raw:
        stream = gzip.GzipFile(fileobj=raw) if path.endswith(".gz") else raw
        text = io.TextIOWrapper(stream, encoding="utf-8")
        number = 0
        try:
            for number, line in enumerate(text, start=1):
                if line.strip():
                    yield number, line
        except (OSError, EOFError, UnicodeDecodeError) as e:
            raise BenchmarkError(f"{path}: unreadable after line {number}: {e}") from None


def _check_record(record: Any, spec: FormatSpec) -> str | None:
    """Why `record` does not fit `spec`, or None."""
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    unknown = sorted(set(record) - spec.allowed())
    if unknown:
        return f"unknown field(s) {unknown}; allowed: {sorted(spec.allowed())}"
    required = set(spec.fields) | (set(spec.ignored) if spec.ignored_required else set())
    missing = sorted(required - set(record))
    if missing:
        return f"missing field(s) {missing}"
    for name in spec.fields:
        value = record[name]
        if not (isinstance(value, str) or (isinstance(value, list) and value
                                           and all(isinstance(v, str) for v in value))):
            return f"field {name!r} must be a string or a non-empty list of strings"
    return None


def _detect(record: Any) -> str | None:
    if isinstance(record, dict):
        for name, spec in FORMATS.items():
            if set(record) == spec.allowed():
                return name
    return None


def read_records(path: str, fmt: str | None, spec: FormatSpec | None,
                 on_bad_line: str = "raise", opener: Callable[[str], BinaryIO] = _open_binary
                 ) -> tuple[str, FormatSpec, list[tuple[int, dict]], list[str], int]:
    """Parse and check every line: (format, spec, [(line, record)], problems, skipped).

    With `spec` None the format is detected from the first readable record.
    """
    records, problems, skipped = [], [], 0
    for number, line in _read_lines(path, opener):
        try:
            record = json.loads(line)
            problem = None
        except json.JSONDecodeError as e:
            record, problem = None, f"invalid JSON: {e.msg} (column {e.colno})"
        if problem is None and spec is None:
            fmt = _detect(record)
            if fmt is None:
                keys = sorted(record) if isinstance(record, dict) else type(record).__name__
                problem = (f"fields {keys} match no known format {sorted(FORMATS)}; set "
                           f"contamination.formats or generic_fields for this benchmark")
            else:
                spec = FORMATS[fmt]
        if problem is None:
            problem = _check_record(record, spec)
        if problem is not None:
            message = f"{path}:{number}: {problem}"
            if on_bad_line == "raise":
                raise BenchmarkError(message)
            skipped += 1
            if len(problems) < 10:
                problems.append(message)
            continue
        records.append((number, record))
    if spec is None:
        raise BenchmarkError(f"{path}: no readable record")
    return fmt, spec, records, problems, skipped


def _field_values(record: dict, name: str) -> list[str]:
    value = record[name]
    return [value] if isinstance(value, str) else value


def _common_prefix(seqs: list[list[str]]) -> list[str]:
    prefix = seqs[0]
    for s in seqs[1:]:
        k = 0
        while k < len(prefix) and k < len(s) and prefix[k] == s[k]:
            k += 1
        prefix = prefix[:k]
        if not prefix:
            break
    return prefix


def strip_scaffolding(texts: list[str], punctuation: str
                      ) -> tuple[list[list[str]], dict[str, Any]]:
    """Normalised words of each text, without the labels, prefix and suffix all texts share."""
    labels: set[str] = set()
    if len(texts) > 1:
        labels = set.intersection(*({m.group(1) for m in _LABEL.finditer(t)} for t in texts))
    if labels:
        alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
        pattern = re.compile(rf"(?m)^[ \t]*(?:{alternatives})[ \t]*:")
        texts = [pattern.sub(" ", t) for t in texts]
    words = [normalized_words(t, punctuation) for t in texts]
    prefix = _common_prefix(words) if len(words) > 1 else []
    words = [w[len(prefix):] for w in words]
    suffix = _common_prefix([w[::-1] for w in words])[::-1] if len(words) > 1 else []
    if suffix:
        words = [w[: len(w) - len(suffix)] for w in words]
    return words, {"labels": sorted(labels), "prefix": " ".join(prefix),
                   "suffix": " ".join(suffix)}


def build_examples(name: str, spec: FormatSpec, records: list[tuple[int, dict]],
                   punctuation: str) -> tuple[list[BenchmarkExample], dict[str, Any]]:
    """Examples with ids and word sequences; scaffolding is stripped per field."""
    per_field: dict[str, list[list[str]]] = {}
    scaffolding = {}
    for fname in spec.fields:
        texts = [t for _, r in records for t in _field_values(r, fname)]
        words, scaffolding[fname] = strip_scaffolding(texts, punctuation)
        per_field[fname] = words
    cursor = dict.fromkeys(spec.fields, 0)
    seen: dict[str, int] = {}
    examples = []
    for number, record in records:
        parts = []
        for fname in spec.fields:
            count = len(_field_values(record, fname))
            parts.append(per_field[fname][cursor[fname]:cursor[fname] + count])
            cursor[fname] += count
        sequences = tuple(dict.fromkeys(tuple(itertools.chain.from_iterable(combo))
                                        for combo in itertools.product(*parts)))
        base = example_id(name, record)
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        ident = example_id(name, record, occurrence) if occurrence else base
        examples.append(BenchmarkExample(ident, number, sequences))
    return examples, scaffolding


def load_benchmark(path: str, config, opener: Callable[[str], BinaryIO] = _open_binary
                   ) -> Benchmark:
    """Read one benchmark file under `config` (a ContaminationConfig)."""
    name = benchmark_name(path)
    fmt, spec, records, problems, skipped = read_records(
        path, *format_spec(name, config), config.on_bad_line, opener)
    examples, scaffolding = build_examples(name, spec, records, config.punctuation)
    synthetic = fmt == "synthetic" or name in config.synthetic_benchmarks
    return Benchmark(name, path, fmt, examples, synthetic, scaffolding, skipped, problems)


def load_benchmarks(config) -> list[Benchmark]:
    """Every benchmark named by `config.benchmarks`, sorted by name."""
    return sorted((load_benchmark(p, config) for p in benchmark_files(config.benchmarks)),
                  key=lambda b: b.name)
