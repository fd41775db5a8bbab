"""The corpus build: source readers, the record types, and the Beam job that ties the stages.

`records` and `config` sit below every stage; `build` is the only module that knows them all
(read → normalise → exact dedup → configured stages → tokens → shards + manifest).
"""
