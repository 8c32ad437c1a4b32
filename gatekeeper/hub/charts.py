"""Bar charts as inline SVG, drawn on the server: no script, read at a glance, fine on a phone.

The console's CSP allows no script; an inline ``<svg>`` needs none and scales with the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def bars(values: Sequence[int], labels: Sequence[str], title: str, width: int = 480, height: int = 120,
         every: int = 1) -> str:
    """A bar chart of ``values`` with ``labels`` under every ``every``-th bar; ``title`` for screen readers.

    Each bar has its own ``<title>`` (label and value), so hovering or a screen reader tells the count.
    """
    top = max(values, default=0) or 1
    pad, base = 28, height - 18
    step = (width - pad) / max(1, len(values))
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f'<text x="0" y="10" class="axis">{top}</text>',
           f'<line x1="{pad}" y1="{base}" x2="{width}" y2="{base}" class="axis"/>']
    for i, (v, label) in enumerate(zip(values, labels, strict=True)):
        h = (base - 12) * v / top
        x = pad + i * step
        out.append(f'<rect x="{x + 1:.1f}" y="{base - h:.1f}" width="{max(1.0, step - 2):.1f}" height="{h:.1f}" '
                   f'class="bar"><title>{escape(label)}: {v}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{x + step / 2:.1f}" y="{height - 4}" class="axis" '
                       f'text-anchor="middle">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)
