"""Layer 5, every console command: `fssuavl-data` (`data`), `fssuavl-partition`
(`partition`), `fssuavl-evaluate` (`evaluate`), `fssuavl-compare` (`compare`) and
`fssuavl-config` (`config`). Argument parsing, messages and exit codes live
here; the work is done by the layers below.
"""
