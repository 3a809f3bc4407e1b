"""The five sample plans with their hand-counted ground truth (copied from the team's shared folder)."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "plans" / "samples"
