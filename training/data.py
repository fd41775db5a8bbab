"""Training batches streamed from the corpus builder's token shards, in a deterministic order.

Input: a build's `manifest.json` (its `"tokens"` section: tokenizer, seed, per-source shards
with sha256, rows, tokens and mixture weight) and the Parquet token shards it lists.

Order (GPT-3 §2.2, Megatron's blending, OLMo-core's resumable state):
- **One stream per source.** Epoch e of a source is its training row groups in an order drawn
  from (seed, source, e), the rows of each row group in an order drawn from (seed, source, e,
  row group); documents (each ending in end-of-text) follow each other and epochs follow each
  other. Within an epoch every document is seen once (without replacement). Only one decoded
  row group per source is held in memory; nothing grows with the corpus but a few integers per
  row group.
- **Sequences.** Sequence k of a source is tokens [k L, k L + L + 1) of its stream (L =
  seq_len): full sequences, several documents packed in each, every token a target once.
- **Mixture.** Global sample g comes from the source whose count lags most behind its weight
  (Megatron's `BlendedDataset`: argmax_i w_i max(g, 1) - n_i, ties to the first name in sorted
  order), so by tokens the mixture follows the weights at every point of training.
- **Ranks.** The global sample sequence does not depend on the number of data-parallel ranks:
  each micro-step takes the next `world_size * micro_batch` global samples and rank r keeps
  samples r, r + W, ... of them. The state is a small dict (global sample counter, per-source
  sample count, epoch and position), so a run resumes exactly, under any world size.
- **Validation.** The last `val_row_groups` row groups of each source (last shard in manifest
  order, last row groups of it) are held out from training and read in file order. A source
  with no more row groups than that (a small corpus) holds out the last `val_fraction` of the
  rows of its last row group instead; `val_row_groups = 0` holds out nothing.

Shard checksums are verified the first time a file's data is read; token ids are checked
against the vocabulary before a row group is used. Errors name the file.
"""

from __future__ import annotations

import bisect
import json
import queue
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from crawl2gpt.core.tokenizer import sha256_file

STATE_VERSION = 1


class DataError(ValueError):
    """The manifest or a shard is missing, corrupt or does not fit the model; names the file."""


@dataclass(frozen=True)
class RowGroup:
    """Rows [first_row, first_row + rows) of one Parquet row group (usually all of them)."""

    path: Path
    index: int
    rows: int
    tokens: int
    first_row: int = 0


@dataclass(frozen=True)
class TokenSource:
    name: str
    weight: float
    train: tuple[RowGroup, ...]
    val: tuple[RowGroup, ...]


@dataclass(frozen=True)
class TokenManifest:
    path: Path
    tokenizer: dict
    seed: int
    sources: tuple[TokenSource, ...]
    shard_sha256: dict[Path, str]

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer["vocab_size"])

    @property
    def eot_id(self) -> int:
        return int(self.tokenizer["eot_id"])


def load_token_manifest(path: str | Path, val_row_groups: int = 1,
                  val_fraction: float = 0.1) -> TokenManifest:
    """Read a build manifest's token section; every shard must exist and match its counts."""
    path = Path(path)
    try:
        section = json.loads(path.read_text())["tokens"]
        tokenizer, seed, sources = section["tokenizer"], int(section["seed"]), section["sources"]
    except FileNotFoundError:
        raise DataError(f"{path}: manifest not found") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise DataError(f"{path}: not a build manifest with a 'tokens' section ({e!r})") from None
    if not sources:
        raise DataError(f"{path}: the 'tokens' section lists no sources")
    digests: dict[Path, str] = {}
    parsed = []
    for name in sorted(sources):
        spec = sources[name]
        groups: list[RowGroup] = []
        for shard in spec["shards"]:
            shard_path = path.parent / shard["path"]
            digests[shard_path] = shard["sha256"]
            groups.extend(_row_groups(shard_path, shard, path))
        train, val = _hold_out(groups, val_row_groups, val_fraction)
        if not any(g.rows for g in train):
            raise DataError(f"{path}: source {name!r} has no rows left to train on after "
                            f"holding out validation (data.val_row_groups, data.val_fraction)")
        parsed.append(TokenSource(name, float(spec["weight"]), train, val))
    if sum(s.weight for s in parsed) <= 0:
        raise DataError(f"{path}: source weights sum to zero")
    return TokenManifest(path, tokenizer, seed, tuple(parsed), digests)


def _row_groups(shard_path: Path, shard: dict, manifest: Path) -> list[RowGroup]:
    """A shard's row groups from its Parquet footer, checked against the manifest's counts."""
    if not shard_path.is_file():
        raise DataError(f"{manifest}: shard {shard_path} is missing")
    try:
        meta = pq.ParquetFile(shard_path).metadata
    except Exception as e:  # pyarrow raises several types for a damaged footer
        raise DataError(f"{shard_path}: not a readable Parquet file ({e})") from None
    leaf = next((i for i in range(meta.num_columns)
                 if meta.schema.column(i).path.startswith("tokens.")), None)
    if leaf is None:
        raise DataError(f"{shard_path}: no 'tokens' column")
    groups = [RowGroup(shard_path, i, meta.row_group(i).num_rows,
                       meta.row_group(i).column(leaf).num_values)
              for i in range(meta.num_row_groups)]
    rows, tokens = sum(g.rows for g in groups), sum(g.tokens for g in groups)
    if (rows, tokens) != (shard["rows"], shard["tokens"]):
        raise DataError(f"{shard_path}: holds {rows} rows / {tokens} tokens but {manifest} "
                        f"records {shard['rows']} / {shard['tokens']}")
    return groups


def _hold_out(groups: list[RowGroup], val_row_groups: int, val_fraction: float
              ) -> tuple[tuple[RowGroup, ...], tuple[RowGroup, ...]]:
    """(train, validation): the last row groups, or the last rows of a source's only group."""
    if val_row_groups <= 0:
        return tuple(groups), ()
    if len(groups) > val_row_groups:
        return tuple(groups[:-val_row_groups]), tuple(groups[-val_row_groups:])
    last = groups[-1]
    held = max(1, round(last.rows * val_fraction))
    f = pq.ParquetFile(last.path)
    lengths = f.read_row_group(last.index, columns=["num_tokens"]).column(0).to_numpy()
    val_tokens = int(lengths[last.rows - held:].sum())
    train = RowGroup(last.path, last.index, last.rows - held, last.tokens - val_tokens)
    val = RowGroup(last.path, last.index, held, val_tokens, first_row=last.rows - held)
    return (*groups[:-1], train), (val,)


class ShardReader:
    """Decodes row groups; verifies each file's sha256 and token ids before first use."""

    def __init__(self, manifest: TokenManifest, vocab_size: int, verify: bool = True):
        self.manifest = manifest
        self.vocab_size = vocab_size
        self.verify = verify
        self._verified: set[Path] = set()

    def tokens(self, group: RowGroup) -> tuple[np.ndarray, np.ndarray]:
        """(flat token ids, row offsets) of one row group."""
        try:
            return self._read(group)
        except OSError as e:  # e.g. a shard deleted or unreadable after start-up
            raise DataError(f"{group.path}: cannot read row group {group.index} ({e})") from None

    def _read(self, group: RowGroup) -> tuple[np.ndarray, np.ndarray]:
        if self.verify and group.path not in self._verified:
            expected = self.manifest.shard_sha256[group.path]
            if sha256_file(group.path) != expected:
                raise DataError(f"{group.path}: sha256 does not match the manifest "
                                f"{self.manifest.path} (expected {expected})")
            self._verified.add(group.path)
        column = pq.ParquetFile(group.path).read_row_group(group.index, columns=["tokens"])
        tokens = column.column("tokens").combine_chunks()
        offsets = tokens.offsets.to_numpy()[group.first_row:group.first_row + group.rows + 1]
        values = tokens.values.to_numpy()[offsets[0]:offsets[-1]]
        if values.size != group.tokens:
            raise DataError(f"{group.path}: row group {group.index} holds {values.size} tokens, "
                            f"its metadata said {group.tokens}")
        if values.size and int(values.max()) >= self.vocab_size:
            raise DataError(f"{group.path}: row group {group.index} has token id "
                            f"{int(values.max())} >= vocab_size {self.vocab_size}")
        return values, offsets - offsets[0]


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(list(key)))


class SourceStream:
    """One source's tokens as an endless stream of epochs, addressed by token offset."""

    def __init__(self, name: str, groups: tuple[RowGroup, ...], reader: ShardReader,
                 seed: int, shuffle: bool = True):
        self.name = name
        self.groups = groups
        self.reader = reader
        self.key = (seed, zlib.crc32(name.encode()))
        self.shuffle = shuffle
        self.tokens_per_epoch = sum(g.tokens for g in groups)
        if self.tokens_per_epoch == 0:
            raise DataError(f"source {name!r} has no tokens to train on")
        self._orders: dict[int, tuple[np.ndarray, list[int]]] = {}
        self._cached: tuple[tuple[int, int], np.ndarray] | None = None

    def _order(self, epoch: int) -> tuple[np.ndarray, list[int]]:
        """Row-group order of an epoch and the cumulative token ends along it."""
        if epoch not in self._orders:
            n = len(self.groups)
            order = _rng(*self.key, epoch).permutation(n) if self.shuffle else np.arange(n)
            ends = np.cumsum([self.groups[i].tokens for i in order]).tolist()
            self._orders = {e: v for e, v in self._orders.items() if e >= epoch - 1}
            self._orders[epoch] = (order, ends)
        return self._orders[epoch]

    def _group_tokens(self, epoch: int, group: int) -> np.ndarray:
        """A row group's documents concatenated in the epoch's row order (cached: one group)."""
        if self._cached is None or self._cached[0] != (epoch, group):
            values, offsets = self.reader.tokens(self.groups[group])
            rows = len(offsets) - 1
            order = _rng(*self.key, epoch, group).permutation(rows) if self.shuffle else range(rows)
            flat = np.concatenate([values[offsets[r]:offsets[r + 1]] for r in order])
            self._cached = ((epoch, group), flat)
        return self._cached[1]

    def read(self, start: int, length: int) -> np.ndarray:
        """Tokens [start, start + length) of the stream (crossing row groups and epochs)."""
        parts = []
        while length > 0:
            epoch, pos = divmod(start, self.tokens_per_epoch)
            order, ends = self._order(epoch)
            i = bisect.bisect_right(ends, pos)
            begin = ends[i - 1] if i else 0
            part = self._group_tokens(epoch, int(order[i]))[pos - begin:pos - begin + length]
            parts.append(part)
            start += len(part)
            length -= len(part)
        return np.concatenate(parts)


def blend_next(weights: list[float], counts: list[int], total: int) -> int:
    """The source of global sample `total`, as Megatron-LM's `build_blending_indices`
    (megatron/core/datasets/helpers.cpp): argmax_i w_i max(total, 1) - n_i, ties to the lowest i."""
    lags = [w * max(total, 1) - n for w, n in zip(weights, counts)]
    return lags.index(max(lags))


class TokenLoader:
    """Micro-batches (micro_batch, seq_len + 1) of int64 token ids for one data-parallel rank.

    Iterate it, or call `next_batch()`. `state_dict()` describes the samples handed out so far
    (not those prefetched), and is the same on every rank.
    """

    def __init__(self, manifest: TokenManifest, *, seq_len: int, micro_batch: int,
                 rank: int = 0, world_size: int = 1, vocab_size: int | None = None,
                 verify: bool = True, prefetch: int = 4):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.manifest = manifest
        self.seq_len, self.micro_batch = seq_len, micro_batch
        self.rank, self.world_size = rank, world_size
        self.reader = ShardReader(manifest, vocab_size or manifest.vocab_size, verify)
        trained = [s for s in manifest.sources if s.weight > 0]  # weight 0: validation only
        self.streams = [SourceStream(s.name, s.train, self.reader, manifest.seed)
                        for s in trained]
        total = sum(s.weight for s in trained)
        self.weights = [s.weight / total for s in trained]
        self.prefetch = prefetch
        self._samples, self._counts = 0, [0] * len(self.streams)
        self._handed_out = self._state_dict(self._samples, self._counts)
        self._queue: queue.Queue | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _make_batch(self, samples: int, counts: list[int]) -> tuple[np.ndarray, int]:
        """This rank's share of the next world_size * micro_batch global samples."""
        rows = []
        for g in range(samples, samples + self.world_size * self.micro_batch):
            s = blend_next(self.weights, counts, g)
            if (g - samples) % self.world_size == self.rank:
                rows.append(self.streams[s].read(counts[s] * self.seq_len, self.seq_len + 1))
            counts[s] += 1
        return np.stack(rows).astype(np.int64), samples + self.world_size * self.micro_batch

    def _produce(self, samples: int, counts: list[int]) -> None:
        """Prefetch thread: fill the queue with (batch, state after it) until stopped."""
        counts = list(counts)
        try:
            while not self._stop.is_set():
                batch, samples = self._make_batch(samples, counts)
                self._put((batch, self._state_dict(samples, counts)))
        except Exception as e:  # handed to the consumer, which re-raises it
            self._put(e)

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next_batch(self) -> torch.Tensor:
        if self._thread is None:
            self._queue = queue.Queue(maxsize=self.prefetch)
            self._stop.clear()
            self._thread = threading.Thread(target=self._produce, daemon=True,
                                            args=(self._samples, self._counts))
            self._thread.start()
        item = self._queue.get()
        if isinstance(item, Exception):
            self.close()
            raise item
        batch, self._handed_out = item
        return torch.from_numpy(batch)

    def __iter__(self):
        while True:
            yield self.next_batch()

    def close(self) -> None:
        """Stop the prefetch thread; the next batch restarts it from the handed-out state."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self._samples = self._handed_out["samples"]
            self._counts = [self._handed_out["sources"][s.name]["samples"] for s in self.streams]

    def _state_dict(self, samples: int, counts: list[int]) -> dict:
        sources = {}
        for stream, n in zip(self.streams, counts):
            epoch, position = divmod(n * self.seq_len, stream.tokens_per_epoch)
            sources[stream.name] = {"samples": n, "epoch": epoch, "position": position}
        return {"version": STATE_VERSION, "seed": self.manifest.seed, "seq_len": self.seq_len,
                "samples": samples, "sources": sources}

    def state_dict(self) -> dict:
        return json.loads(json.dumps(self._handed_out))

    def load_state_dict(self, state: dict) -> None:
        """Continue after the samples `state` describes (saved under any world size)."""
        self.close()
        names = sorted(state.get("sources", {}))
        expected = {"version": STATE_VERSION, "seed": self.manifest.seed, "seq_len": self.seq_len,
                    "sources": [s.name for s in self.streams]}
        found = {k: state.get(k) for k in ("version", "seed", "seq_len")} | {"sources": names}
        if found != expected:
            raise DataError(f"data state {found} does not fit the loader over "
                            f"{self.manifest.path} ({expected})")
        self._samples = int(state["samples"])
        self._counts = [int(state["sources"][s.name]["samples"]) for s in self.streams]
        self._handed_out = self._state_dict(self._samples, self._counts)


def validation_batches(manifest: TokenManifest, source: str, *, seq_len: int, batch: int,
                       num_sequences: int, vocab_size: int | None = None,
                       verify: bool = True) -> list[torch.Tensor]:
    """The first `num_sequences` held-out sequences of `source`, in file order, as batches."""
    spec = next(s for s in manifest.sources if s.name == source)
    reader = ShardReader(manifest, vocab_size or manifest.vocab_size, verify)
    stream = SourceStream(source, spec.val, reader, manifest.seed, shuffle=False)
    available = (stream.tokens_per_epoch - 1) // seq_len
    rows = [stream.read(k * seq_len, seq_len + 1) for k in range(min(num_sequences, available))]
    return [torch.from_numpy(np.stack(rows[i:i + batch]).astype(np.int64))
            for i in range(0, len(rows), batch)]
