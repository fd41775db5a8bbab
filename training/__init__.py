"""Training GPT-3-shaped models on a build's token shards.

`model` is a plain `nn.Module` (no parallelism inside); `data` streams the manifest's mixture
with exact, world-size-independent resume; `trainer`/`train` run it; `export` writes Hugging
Face checkpoints.
"""
