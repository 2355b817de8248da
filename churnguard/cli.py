"""The `churnguard` command: wiring only. Each command parses options, calls one package function, prints."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from churnguard.settings import Settings, get_settings

app = typer.Typer(
    help="churnguard: find customers about to leave, say why, and queue them for outreach.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


@app.command("config")
def config_command() -> None:
    """Print every setting, its environment variable, its current value and what it is for."""
    settings = get_settings()
    table = Table("environment variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        env = f"CHURNGUARD_{name.upper()}"
        if name == "mlflow_tracking_uri":
            env = "MLFLOW_TRACKING_URI"
        table.add_row(env, str(getattr(settings, name)), field.description or "")
    console.print(table)


# --- synthetic shop --------------------------------------------------------------------------


@app.command("generate")
def generate_command(
    out: Path = typer.Option(..., "--out", help="Folder to write the shop's Parquet tables into."),
    customers: int = typer.Option(2_000, "--customers", min=1, help="How many customers."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same seed, same bytes."),
    start: str = typer.Option("2023-01-01", "--start", help="First day of the shop (ISO date)."),
    end: str = typer.Option("2025-12-31", "--end", help="Last day of the shop (ISO date)."),
) -> None:
    """Write a realistic synthetic shop in the input contract (customers, orders, deliveries, feedback)."""
    from churnguard.synthetic import ShopConfig, generate_shop, summarize_shop

    config = ShopConfig(
        customers=customers, seed=seed, start=date.fromisoformat(start), end=date.fromisoformat(end)
    )
    summary = generate_shop(config, out)
    console.print(summarize_shop(summary))
