"""``joinedup identity``: estimate the match model and measure it against ground truth.

The model is trained on one seeded world and evaluated on another, so the
figures say how it does on people it has never seen.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click

from gateway.config import REPO_ROOT
from gateway.identity.matching import PARAMS, load_model

TRAIN_SEED = 11
"""Not the default world's seed (7): evaluation runs on a world the model was not fitted to."""


def default_threshold(policy_dir: Path = REPO_ROOT / "policies") -> float:
    """The policy's default identity-confidence threshold (``access.identity.min_confidence``)."""
    data = json.loads((policy_dir / "data.json").read_text())
    return float(data["access"]["identity"]["min_confidence"])


@click.group()
def identity() -> None:
    """Identity resolution: train and evaluate the demographic matcher."""


@identity.command("train")
@click.option("--people", type=int, default=2000, show_default=True)
@click.option("--seed", type=int, default=TRAIN_SEED, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=PARAMS, show_default=True)
def train_command(people: int, seed: int, out: Path) -> None:
    """Estimate m/u parameters from a generated world's ground truth and write them to OUT."""
    from gateway.identity.evaluation import train
    from gateway.identity.world import load_world
    from simulators.world import generate_world

    with tempfile.TemporaryDirectory() as tmp:
        generate_world(Path(tmp), people=people, seed=seed)
        model = train(load_world(Path(tmp)))
    out.write_text(model.to_json() + "\n")
    click.echo(f"wrote {out} (seed {seed}, {people} people, prior {model.prior:.4f})")


@identity.command("evaluate")
@click.option("--people", type=int, default=2000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--threshold", type=float, default=None, help="Default: the policy's.")
@click.option("--params", type=click.Path(path_type=Path, exists=True), default=PARAMS)
@click.option(
    "--every-agency-searchable",
    is_flag=True,
    help="As if every agency offered demographic search (default: only those that do).",
)
def evaluate_command(
    people: int, seed: int, threshold: float | None, params: Path, every_agency_searchable: bool
) -> None:
    """Resolve every record of a generated world and score the matches against ground truth.

    Exits 1 if a target (precision >= 0.995, recall >= 0.97, no wrong-person
    disclosure) is missed.
    """
    from gateway.identity.evaluation import evaluate, format_table, targets_met
    from gateway.identity.world import load_world
    from simulators.world import generate_world

    cutoff = default_threshold() if threshold is None else threshold
    with tempfile.TemporaryDirectory() as tmp:
        generate_world(Path(tmp), people=people, seed=seed)
        world = load_world(Path(tmp))
        result = evaluate(world, load_model(params), cutoff, every_agency_searchable)
    scope = "every agency" if every_agency_searchable else "agencies that offer it"
    click.echo(f"world: {people} people, seed {seed}; model {params}; search: {scope}")
    click.echo(format_table(result, cutoff))
    met = targets_met(result)
    for target, ok in met.items():
        click.echo(f"target {target}: {'met' if ok else 'MISSED'}")
    if not all(met.values()):
        sys.exit(1)
