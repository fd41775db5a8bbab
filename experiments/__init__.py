"""Experiments on builds: data ablations and scaling-law fits (`crawl2gpt ablate`, `scaling`)."""
