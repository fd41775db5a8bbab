"""In-context evaluation (zero-, one- and few-shot, GPT-3 §2.4).

`tasks` (definitions in `tasks/*.toml`, benchmark files read with the contamination stage's
example ids), `prompts` (K seeded conditioning examples), `scoring` (plain scoring rules),
`models` (the `LogLikelihoodModel` interface for our checkpoints and local HF models),
`harness` (runs them, clean/dirty subsets) and `cli` (`crawl2gpt eval`).
"""
