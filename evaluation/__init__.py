"""In-context evaluation (zero-, one- and few-shot, GPT-3 §2.4): issue 9, not implemented yet.

Benchmark example ids will come from `dedup.benchmarks.example_id`, shared with the
contamination stage's clean/dirty lists.
"""
