"""The base layer: what every stage, the trainer and the evaluator share, importing none of them.

Records (`records`), config errors and loading helpers (`config`), the shard, manifest and
tokenizer formats (`shards`, `manifest`, `tokenizer`) and the Beam helpers (`beam_utils`).
"""
