"""Writes a stage's graph as Markdown with a Mermaid flowchart, and as Graphviz DOT."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .assembly import Resolver, Stage
from .edges import CROSS_REGION, REFERENCE, TRAFFIC, Edge, build_edges
from .labels import COMPUTE, DATA, MESSAGING
from .nodes import Ids, Node, build_nodes

_LABELS_SHOWN = 3  # an edge names at most this many things, then "+N"
_GRID_COLUMNS = 3  # nodes without edges are packed in rows of this many
_ARROWS = {TRAFFIC: "==>", REFERENCE: "-->", CROSS_REGION: "-.->"}
_MERMAID_SHAPES = {COMPUTE: ('("', '")'), DATA: ('[("', '")]'), MESSAGING: ('(["', '"])')}
_DOT_SHAPES = {COMPUTE: "box", DATA: "cylinder", MESSAGING: "box"}
_DOT_EDGES = {
    TRAFFIC: "style=bold, penwidth=2.5",
    REFERENCE: "style=solid",
    CROSS_REGION: "style=dashed",
}

LEGEND = (
    "Generated from the synthesized cloud assembly by `python -m tools.diagram`; do not edit "
    "by hand. Each box is one CloudFormation stack, labelled with its concern and region. "
    "Thick arrows follow a request: DNS, CloudFront, WAF, load balancer (labelled with the "
    "path patterns routed), services and functions, then the data stores and queues they use "
    "(labelled with the port a security group opens). Thin arrows between boxes are "
    "cross-stack references (`Fn::ImportValue`), labelled with up to three exported "
    "resources; dashed arrows are cross-region references that CDK passes through SSM "
    "parameters. Rounded nodes compute, cylinders hold data, pill shapes carry messages, and "
    'counted nodes ("3 KMS keys", "12 alarms") stand for all of a stack\'s resources of that '
    "kind. IAM, security groups, subnets and routes, permissions and custom-resource "
    "plumbing are left out."
)


@dataclass
class Diagram:
    stage: Stage
    subgraphs: list[tuple[str, str, list[Node]]]  # (id, label, nodes), sorted
    edges: list[Edge]
    resources: int  # in the stage's templates, drawn or not


def build(stage: Stage) -> Diagram:
    resolver = Resolver(stage)
    nodes = build_nodes(resolver, Ids())
    edges = build_edges(resolver, nodes)
    subgraphs = []
    for stack in stage.stacks:
        members = sorted(
            (node for node in nodes.nodes.values() if node.stack == stack.key),
            key=lambda node: node.id,
        )
        subgraphs.append((nodes.subgraphs[stack.key], f"{stack.concern} ({stack.region})", members))
    return Diagram(
        stage,
        sorted(subgraphs, key=lambda subgraph: subgraph[0]),
        edges,
        sum(len(stack.resources) for stack in stage.stacks),
    )


def edge_label(edge: Edge) -> str:
    shown = ", ".join(edge.labels[:_LABELS_SHOWN])
    more = len(edge.labels) - _LABELS_SHOWN
    text = f"{shown} +{more}" if more > 0 else shown
    if edge.style == CROSS_REGION:
        return f"cross-region: {text}" if text else "cross-region"
    return text


def grid_rows(diagram: Diagram) -> list[list[str]]:
    """Rows of each stack's nodes that no edge touches. Left alone, the layout strings them
    into one long line (or column) per stack; invisible links between them make a block."""
    linked = {end for edge in diagram.edges for end in (edge.src, edge.dst)}
    rows = []
    for _, _, nodes in diagram.subgraphs:
        free = [node.id for node in nodes if node.id not in linked]
        rows += [free[i : i + _GRID_COLUMNS] for i in range(0, len(free), _GRID_COLUMNS)]
    return [row for row in rows if len(row) > 1]


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def markdown(diagram: Diagram, profile: str) -> str:
    drawn = sum(len(nodes) for _, _, nodes in diagram.subgraphs)
    stats = (
        f" This stage: {len(diagram.subgraphs)} stacks, {diagram.resources} resources, "
        f"{drawn} nodes."
    )
    lines = [
        f"# Architecture: {profile} / {diagram.stage.name}",
        "",
        LEGEND + stats,
        "",
        "```mermaid",
        "flowchart LR",
    ]
    for subgraph_id, label, nodes in diagram.subgraphs:
        lines.append(f'  subgraph {subgraph_id}["{_mermaid_text(label)}"]')
        for node in nodes:
            opening, closing = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
            text = "<br/>".join(_mermaid_text(line) for line in node.lines)
            lines.append(f"    {node.id}{opening}{text}{closing}")
        lines.append("  end")
    for edge in diagram.edges:
        label = edge_label(edge)
        arrow = _ARROWS[edge.style] + (f'|"{_mermaid_text(label)}"|' if label else "")
        lines.append(f"  {edge.src} {arrow} {edge.dst}")
    lines += ["  " + " ~~~ ".join(row) for row in grid_rows(diagram)]
    lines += ["```", ""]
    return "\n".join(lines)


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(diagram: Diagram, profile: str) -> str:
    """The same graph for Graphviz; stack-to-stack edges attach to each cluster's anchor."""
    title = _dot_text(f"Architecture: {profile} / {diagram.stage.name}")
    lines = [
        "digraph architecture {",
        f'  graph [rankdir=LR, compound=true, fontname="Helvetica", label="{title}", labelloc=t];',
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    clusters = set()
    for subgraph_id, label, nodes in diagram.subgraphs:
        clusters.add(subgraph_id)
        lines.append(f'  subgraph "cluster_{subgraph_id}" {{')
        lines.append(f'    label="{_dot_text(label)}";')
        lines.append(f'    "{subgraph_id}__anchor" [shape=point, style=invis, width=0.01];')
        for node in nodes:
            text = "\\n".join(_dot_text(line) for line in node.lines)
            shape = _DOT_SHAPES.get(node.kind, "box")
            style = "rounded" if node.kind == COMPUTE else "solid"
            lines.append(f'    "{node.id}" [label="{text}", shape={shape}, style={style}];')
        lines.append("  }")
    for edge in diagram.edges:
        attributes = [_DOT_EDGES[edge.style]]
        if label := edge_label(edge):
            attributes.append(f'label="{_dot_text(label)}"')
        src, dst = edge.src, edge.dst
        if src in clusters:
            attributes.append(f'ltail="cluster_{src}"')
            src = f"{src}__anchor"
        if dst in clusters:
            attributes.append(f'lhead="cluster_{dst}"')
            dst = f"{dst}__anchor"
        lines.append(f'  "{src}" -> "{dst}" [{", ".join(attributes)}];')
    for row in grid_rows(diagram):
        lines += [f'  "{a}" -> "{b}" [style=invis];' for a, b in itertools.pairwise(row)]
    lines += ["}", ""]
    return "\n".join(lines)
