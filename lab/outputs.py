"""A handler's outputs by name, not by position.

Gradio wants a tuple in the order of the event's output components. A handler that streams
updates names only what changed, `OUT(status="Step 3 of 20…", live=image)`, and every other
output is left as it is on screen (gr.skip()); `OUT.reset(...)` sets the rest to empty instead,
for the start of a new run. The event's component list is built from the same names, so the
order is written once.
"""

from __future__ import annotations

import gradio as gr


class Outputs:
    def __init__(self, *names: str) -> None:
        self.names = names

    def _pack(self, values: dict, default) -> tuple:
        unknown = set(values) - set(self.names)
        if unknown:
            raise KeyError(f"not an output of this handler: {sorted(unknown)}")
        return tuple(values[n] if n in values else default() for n in self.names)

    def __call__(self, **values) -> tuple:
        """The named outputs; the others unchanged."""
        return self._pack(values, gr.skip)

    def reset(self, **values) -> tuple:
        """The named outputs; the others emptied (a new run must not show the last one's results)."""
        return self._pack(values, lambda: None)

    def components(self, by_name: dict) -> list:
        """The event's output components, in this order."""
        return [by_name[n] for n in self.names]


def clear_on(trigger, *components) -> None:
    """Empty `components` the moment `trigger` fires (a button's click): a new run, or an input
    error that stops it before its first output, must not leave the last run's status or file on
    screen beside it. A separate, unqueued listener, so it lands at once even while the model
    queue is busy."""
    trigger(lambda: None if len(components) == 1 else (None,) * len(components), None, list(components),
            api_name=False, queue=False, show_progress="hidden")
