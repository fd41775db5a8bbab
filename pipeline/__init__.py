"""The build job: source readers, normalisation, exact dedup, the stage registry and the Beam
pipeline that ties them (read → normalise → exact dedup → configured stages → tokens → shards +
manifest). Only `stages` and `build` know every stage.
"""
