"""Tokenise, mix and shard: filtered documents -> per-source token shards the trainer streams.

GPT-3 §2.1-2.2: GPT-2's byte-level BPE with end-of-text between documents, and a weighted
mixture of sources (Table 2.2). See `mixing/README.md` for the data path.
"""
