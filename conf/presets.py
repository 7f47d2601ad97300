"""Writes conf/paper/*.toml and conf/quick/*.toml from `fssuavl_app/runs/presets.py`.

    python conf/presets.py        # rewrite the files (tests check they are in sync)
"""

from pathlib import Path

from fssuavl_app.runs.presets import write_presets

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    print(f"wrote {write_presets(here)} presets under {here}")
