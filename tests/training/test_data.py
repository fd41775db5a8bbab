"""The token loader: coverage, disjoint ranks, mixture, epochs, resume across world sizes, errors.

Ranks are simulated in one process (OLMo-core's test style): documents hold consecutive unique
token ids (`counting_docs`), so every token a batch holds can be traced back to its place.
"""

import json

import numpy as np
import pytest

from crawl2gpt.training.data import (
    DataError,
    TokenLoader,
    blend_next,
    load_token_manifest,
    validation_batches,
)
from tests.training.corpus import counting_docs, write_corpus

SEQ = 8


def _loader(manifest, **kw):
    kw.setdefault("seq_len", SEQ)
    kw.setdefault("micro_batch", 2)
    return TokenLoader(load_token_manifest(manifest), **kw)


def _global_samples(manifest, world_size, micro_batch, steps, state=None):
    """Run `world_size` simulated ranks for `steps` micro-steps; samples in global order."""
    loaders = [_loader(manifest, rank=r, world_size=world_size, micro_batch=micro_batch)
               for r in range(world_size)]
    if state is not None:
        for loader in loaders:
            loader.load_state_dict(state)
    samples = []
    for _ in range(steps):
        batches = [loader.next_batch().numpy() for loader in loaders]
        for j in range(micro_batch):  # rank r holds global samples r, r + W, ...
            samples.extend(batches[r][j] for r in range(world_size))
    states = [loader.state_dict() for loader in loaders]
    for loader in loaders:
        loader.close()
    assert all(s == states[0] for s in states), "ranks disagree on the data state"
    return samples, states[0]


@pytest.fixture
def one_source(tmp_path):
    # 50 documents of 12 tokens = 600 tokens, 5 per row group -> 10 row groups; the last
    # (documents 45-49, tokens 540-599) is held out, so one epoch is tokens 0-539.
    return write_corpus(tmp_path / "one", {"web": counting_docs(50, 12)}, {"web": 1.0},
                        vocab_size=1000, eot_id=999, rows_per_group=5)


@pytest.fixture
def two_sources(tmp_path):
    docs = {"books": counting_docs(30, 10), "wiki": counting_docs(30, 10, start=500)}
    return write_corpus(tmp_path / "two", docs, {"books": 0.7, "wiki": 0.3}, vocab_size=1000,
                        eot_id=999, rows_per_group=3, shards=2)


def test_ranks_cover_one_epoch_exactly_once_and_are_disjoint(one_source):
    # 540 training tokens / 8 per sequence = 67 full sequences; 4 ranks x 2 x 8 steps = 64.
    loaders = [_loader(one_source, rank=r, world_size=4) for r in range(4)]
    per_rank = [np.concatenate([loaders[r].next_batch().numpy()[:, :SEQ].ravel()
                                for _ in range(8)]) for r in range(4)]
    inputs = np.concatenate(per_rank)
    assert len(set(inputs.tolist())) == 64 * SEQ, "a token was served twice in one epoch"
    for a in range(4):
        for b in range(a + 1, 4):
            assert not set(per_rank[a].tolist()) & set(per_rank[b].tolist())
    assert set(inputs.tolist()) <= set(range(540)), "held-out or unknown tokens served"
    for loader in loaders:
        loader.close()


def test_sequences_are_packed_and_overlap_by_one_token(one_source):
    samples, _ = _global_samples(one_source, 1, 2, 10)
    for prev, cur in zip(samples, samples[1:]):
        assert prev[-1] == cur[0]  # the last target of one sequence is the next one's input
    # documents are contiguous runs of 12 ids inside a sequence: a jump only at a boundary
    # between documents, i.e. after an id that ends a document (11, 23, 35, ...)
    stream = np.concatenate([samples[0]] + [s[1:] for s in samples[1:]])
    jumps = np.nonzero(np.diff(stream) != 1)[0]
    assert all(stream[i] % 12 == 11 for i in jumps)
    assert len(jumps) > 0, "documents were not shuffled at all"


def test_epochs_are_without_replacement_and_reshuffled(one_source):
    # Two epochs of 540 tokens: 135 sequences of 8 cover 1080 stream tokens.
    samples, state = _global_samples(one_source, 1, 5, 27)
    stream = np.concatenate([s[:SEQ] for s in samples])
    first, second = stream[:540], stream[540:1080]
    assert sorted(first.tolist()) == list(range(540))
    assert sorted(second.tolist()) == list(range(540))
    assert not np.array_equal(first, second), "epoch 1 repeated epoch 0's order"
    assert state["sources"]["web"] == {"samples": 135, "epoch": 2, "position": 0}


def test_mixture_follows_weights_at_every_point(two_sources):
    samples, state = _global_samples(two_sources, 1, 4, 25)
    is_books = np.array([s[0] < 500 for s in samples])
    counts = np.cumsum(is_books)
    for g in range(1, 101):  # largest-lag-first keeps each count within 1 of weight x samples
        assert abs(counts[g - 1] - 0.7 * g) < 1.0
    assert state["samples"] == 100
    assert state["sources"]["books"]["samples"] == 70 and state["sources"]["wiki"]["samples"] == 30


def test_blend_next_matches_megatron_rule():
    # Megatron-LM helpers.cpp build_blending_indices: argmax_i w_i * max(g, 1) - n_i, strict >.
    # By hand for weights (0.5, 0.3, 0.2), errors per sample g:
    #   g=0: (.5, .3, .2) -> 0;  g=1: (-.5, .3, .2) -> 1;  g=2: (0, -.4, .4) -> 2;
    #   g=3: (.5, -.1, -.4) -> 0;  g=4: (0, .2, -.2) -> 1
    counts, picks = [0, 0, 0], []
    for g in range(5):
        i = blend_next([0.5, 0.3, 0.2], counts, g)
        counts[i] += 1
        picks.append(i)
    assert picks == [0, 1, 2, 0, 1]


def test_resume_under_another_world_size_continues_the_global_sequence(two_sources):
    reference, _ = _global_samples(two_sources, 1, 2, 24)  # 48 samples on one rank
    head, state = _global_samples(two_sources, 2, 2, 3)  # 12 samples on two ranks
    json.dumps(state)  # the state is a small JSON-able dict
    tail, _ = _global_samples(two_sources, 4, 1, 9, state=state)  # 36 more on four ranks
    assert len(head) + len(tail) == len(reference)
    for got, want in zip(head + tail, reference):
        np.testing.assert_array_equal(got, want)


def test_state_counts_handed_out_batches_not_prefetched_ones(two_sources):
    loader = _loader(two_sources, prefetch=8)
    loader.next_batch()
    loader.next_batch()
    state = loader.state_dict()
    expected = loader.next_batch().numpy()
    loader.close()
    resumed = _loader(two_sources)
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(resumed.next_batch().numpy(), expected)
    resumed.close()
    assert state["samples"] == 4


def test_validation_is_held_out_and_in_file_order(one_source):
    (batch,) = validation_batches(load_token_manifest(one_source), "web", seq_len=SEQ, batch=8,
                                  num_sequences=100)
    # held out: tokens 540..599 -> (60 - 1) // 8 = 7 sequences of 9, in file order
    assert batch.shape == (7, SEQ + 1)
    assert batch[0].tolist() == list(range(540, 549))
    assert batch[-1].tolist() == list(range(588, 597))


def test_missing_shard_is_named(two_sources):
    victim = two_sources.parent / "wiki" / "tokens-00001-of-00002.parquet"
    victim.unlink()
    with pytest.raises(DataError, match="tokens-00001-of-00002.parquet is missing"):
        load_token_manifest(two_sources)


def test_corrupt_shard_fails_checksum_before_any_batch(one_source):
    shard = one_source.parent / "web" / "tokens-00000-of-00001.parquet"
    data = bytearray(shard.read_bytes())
    # flip one byte in the middle of the file (inside column data, not the footer)
    data[len(data) // 3] ^= 0xFF
    shard.write_bytes(bytes(data))
    loader = _loader(one_source)
    with pytest.raises(DataError, match=r"tokens-00000-of-00001.parquet: sha256"):
        loader.next_batch()


def test_token_ids_beyond_the_vocabulary_are_refused(one_source):
    loader = _loader(one_source, vocab_size=100)  # ids run to 539
    with pytest.raises(DataError, match=r">= vocab_size 100"):
        loader.next_batch()


def test_state_from_another_corpus_is_refused(one_source, two_sources):
    _, state = _global_samples(two_sources, 1, 2, 1)
    loader = _loader(one_source)
    with pytest.raises(DataError, match="does not fit"):
        loader.load_state_dict(state)


def test_a_zero_weight_source_is_never_trained_on(tmp_path):
    # names sort "a", "b", "c": with Megatron's tie rule an unfiltered zero-weight "a" would
    # win the all-zero tie at sample 2 (errors 0, 0, 0 after b and c)
    docs = {"a": counting_docs(8, 10, 0), "b": counting_docs(8, 10, 100),
            "c": counting_docs(8, 10, 200)}
    manifest = write_corpus(tmp_path, docs, {"a": 0.0, "b": 0.5, "c": 0.5}, vocab_size=1000,
                            eot_id=999, rows_per_group=2)
    samples, state = _global_samples(manifest, 1, 2, 10)
    assert all(s[0] >= 100 for s in samples)
    assert sorted(state["sources"]) == ["b", "c"]


def test_a_source_with_one_row_group_holds_out_its_last_rows(tmp_path):
    # 20 documents of 10 tokens in a single row group: the last 10 % (2 documents, tokens
    # 180-199) are held out, one training epoch is tokens 0-179.
    manifest = write_corpus(tmp_path, {"web": counting_docs(20, 10)}, {"web": 1.0},
                            vocab_size=1000, eot_id=999, rows_per_group=100)
    (batch,) = validation_batches(load_token_manifest(manifest), "web", seq_len=SEQ, batch=4,
                                  num_sequences=10)
    assert batch.tolist() == [list(range(180, 189)), list(range(188, 197))]
    samples, _ = _global_samples(manifest, 1, 3, 15)  # 45 sequences = 360 tokens, 2 epochs
    stream = np.concatenate([s[:SEQ] for s in samples])
    assert sorted(stream[:180].tolist()) == list(range(180))
    assert sorted(stream[180:].tolist()) == list(range(180))
