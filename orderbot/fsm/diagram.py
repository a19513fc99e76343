"""Draw the order state diagram from the machine's own definition, as mermaid or dot."""

from __future__ import annotations

from orderbot.fsm.machine import OrderMachine
from orderbot.fsm.states import FINAL_STATES, OrderState

FORMATS = ("mermaid", "dot")


def machine_edges(machine: OrderMachine) -> list[tuple[OrderState, OrderState, str]]:
    """Return (source, destination, trigger) for every transition the machine knows."""
    edges = []
    for name, event in machine.events.items():
        for source_name, transitions in event.transitions.items():
            for transition in transitions:
                edges.append((OrderState[source_name], OrderState[transition.dest], name))
    order = list(OrderState)
    edges.sort(key=lambda e: (order.index(e[0]), order.index(e[1]), e[2]))
    return edges


def render(machine: OrderMachine, fmt: str = "mermaid") -> str:
    """Return the diagram text in the given format."""
    edges = machine_edges(machine)
    if fmt == "dot":
        return _dot(edges)
    if fmt == "mermaid":
        return _mermaid(edges)
    raise ValueError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")


def _mermaid(edges: list[tuple[OrderState, OrderState, str]]) -> str:
    lines = ["stateDiagram-v2", "    direction LR", f"    [*] --> {OrderState.IDLE.value}"]
    lines += [f"    {src.value} --> {dst.value}: {trigger}" for src, dst, trigger in edges]
    lines += [f"    {state.value} --> [*]" for state in OrderState if state in FINAL_STATES]
    return "\n".join(lines) + "\n"


def _dot(edges: list[tuple[OrderState, OrderState, str]]) -> str:
    lines = ["digraph order {", "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    for state in OrderState:
        shape = ", peripheries=2" if state in FINAL_STATES else ""
        lines.append(f'    {state.value} [label="{state.value}"{shape}];')
    lines += [f'    {src.value} -> {dst.value} [label="{trigger}"];' for src, dst, trigger in edges]
    lines.append("}")
    return "\n".join(lines) + "\n"
