"""Run a pipeline in a worker thread and yield typed events: one `StepEvent` per finished
step (the model's current x̂₀, as pixels: a latent model's is decoded, which is what the learner
watches form), then one `DoneEvent` with the pipeline's output. Closing the
iterator early (Gradio's Stop) ends the run after the current step."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

import gradio as gr
import torch

from pipelines.pipeline_base import DiTPipelineBase, DiTPipelineOutput

from .runtime import model_work



@dataclass
class StepEvent:
    index: int  # 0-based step of this run
    total: int  # steps this run takes
    x0_image: torch.Tensor  # (N, 3, H, W) pixels in [-1, 1]


@dataclass
class DoneEvent:
    output: DiTPipelineOutput


def stream(pipe: DiTPipelineBase, **kwargs) -> Iterator[StepEvent | DoneEvent]:
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    box: dict = {}

    def on_step(p, i, t, tensors):
        q.put(StepEvent(i, p.num_timesteps, p.space.decode(tensors["x0_pred"]).cpu()))
        if stop.is_set():
            p._interrupt = True
        return {}

    def work() -> None:
        try:
            with model_work():
                box["out"] = pipe(**kwargs, callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["x0_pred"])
        except BaseException as e:  # handed to the consumer
            box["err"] = e
        finally:
            q.put(None)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    finished = False
    try:
        while (ev := q.get()) is not None:
            yield ev
        finished = True
    finally:
        if not finished:
            stop.set()
        worker.join()
    if "err" in box:
        raise box["err"]
    yield DoneEvent(box["out"])


def stream_outputs(pipe: DiTPipelineBase, kwargs: dict, on_step: Callable[[StepEvent], tuple],
                   on_done: Callable[[DoneEvent], tuple]) -> Iterator[tuple]:
    """What every model tab does: stream the run, map each event to the tab's outputs, and
    turn the pipeline's ValueErrors (bad settings) into a message in the UI."""
    try:
        for ev in stream(pipe, **kwargs):
            yield on_step(ev) if isinstance(ev, StepEvent) else on_done(ev)
    except ValueError as e:
        raise gr.Error(str(e)) from None
