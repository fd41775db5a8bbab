"""Near-duplicate removal: MinHash-LSH fuzzy dedup within and across sources (paper, App. A).

Cores without Beam: `minhash` (shingles, signatures), `lsh` (bands x rows, S-curve, band keys),
`components` (union-find and star rounds), `clusters` (scopes, verification, keep/remove),
`fuzzy` (the single-process driver), `config` (`FuzzyDedupConfig`). `transforms` holds the
Beam composites (`DedupFuzzy`).
"""
