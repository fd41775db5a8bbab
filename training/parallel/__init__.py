"""Data x tensor x pipeline parallelism, applied to the plain `training.model.GPT` from outside.

`build_mesh` makes the 3-D `DeviceMesh` ("pp", "dp", "tp"), `parallelize` turns one seeded
model into this rank's share of it, and `ParallelTrainer` trains it (docs/parallelism.md).
"""
