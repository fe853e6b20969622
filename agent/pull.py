"""`ollama pull` with a progress bar: the chat's offer to download a missing model, and
`rung init`'s."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from rung.agent.ollama_model import OllamaChatModel


async def pull_with_progress(model: OllamaChatModel, console: Console) -> None:
    """Download `model` through its Ollama server, showing what is done and what is left."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"pulling {model.name}", total=None)
        async for part in model.pull():
            if part.total:  # a layer's download; the steps after it carry no sizes
                progress.update(task, total=part.total, completed=part.completed or 0)
            progress.update(task, description=part.status[:40])
    console.print(f"Pulled {model.name}.", style="green", markup=False)
