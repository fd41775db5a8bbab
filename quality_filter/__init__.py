"""Quality filtering. GPT-3's classifier filter: reference-likeness scores and Pareto resampling.

Its core modules (no Beam): `artefacts` (strip source markers), `classifier` (two backends),
`training` (train + held-out evaluation), `evaluation`, `selection` (Pareto / threshold,
calibration). `transforms.FilterQuality` is the build stage. Paper: Brown et al. 2020,
Appendix A; `../shared/docs/gpt3-recipe.md` §1.2.
"""
