"""`townsquare audit`: verify the event chain and sign checkpoints."""

from __future__ import annotations

import typer

from townsquare import chain
from townsquare.cli.common import clean_errors, console, err, runtime

app = typer.Typer(help="The tamper-evident event log.", no_args_is_help=True)


@app.command("verify")
@clean_errors
def verify() -> None:
    """Re-derive every hash and check every signed checkpoint; prints OK or the first problem."""
    with runtime() as rt:
        result = chain.verify(rt)
    if result.ok:
        cp = result.latest_checkpoint
        signed = f"; latest checkpoint seq {cp['seq']} at {cp['signed_at']}" if cp else "; no checkpoint yet"
        console.print(
            f"OK: {result.events} events in {result.batches} batches, head seq {result.head_seq}{signed}"
        )
        return
    err.print(f"TAMPERED: {result.problems[0]}")
    for extra in result.problems[1:5]:
        err.print(f"  also: {extra}")
    raise typer.Exit(1)


@app.command("checkpoint")
@clean_errors
def checkpoint() -> None:
    """Seal pending batches and sign the chain head now."""
    with runtime() as rt:
        cp = chain.checkpoint(rt)
    console.print(f"checkpoint: seq {cp['seq']} {cp['chain_hash']} signed at {cp['signed_at']}")
