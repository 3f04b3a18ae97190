"""Charts drawn on the server as SVG: no script, so the strict CSP holds; they scale to a phone and print."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#1c6dd0"
LINES = ("#c25400", "#2f8a4c", "#5b2a86")


def _svg(width: int, height: int, body: str, title: str) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
                  f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
                  f"<title>{escape(title)}</title>{body}</svg>")


def _text_width(label: str, size: float) -> float:
    # A Chinese character is about as wide as the font is high; Latin letters a little over half.
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in label)


def trend_chart(labels: Sequence[str], counts: Sequence[int], rates: dict[str, Sequence[float | None]],
                title: str, legend: dict[str, str]) -> Markup:
    """Bars of a weekly count with lines of rates (0–100 % on the right axis)."""
    width, height, left, right, top, bottom = 360, 210, 30, 30, 10, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(counts), 1)
    step = plot_w / n
    peak = max([*counts, 1])
    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 8}" font-size="9" text-anchor="end">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="9" text-anchor="end">0</text>',
             f'<text x="{left + plot_w + 4}" y="{top + 8}" font-size="9">100%</text>',
             f'<text x="{left + plot_w + 4}" y="{top + plot_h}" font-size="9">0%</text>']
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * step + step * 0.15
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
                     f'fill="{BAR}" opacity="0.55"><title>{escape(labels[i])}: {count}</title></rect>')
    for i, label in enumerate(labels):
        if i % 4 == 0:
            parts.append(f'<text x="{left + i * step + step / 2:.1f}" y="{top + plot_h + 11}" font-size="8" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for values, colour in zip(rates.values(), LINES, strict=False):
        points = [f"{left + i * step + step / 2:.1f},{top + plot_h * (1 - v):.1f}"
                  for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for point in points:  # a week on its own still shows
            x_at, y_at = point.split(",")
            parts.append(f'<circle cx="{x_at}" cy="{y_at}" r="2" fill="{colour}"/>')
    # The legend under the plot, wrapping to a second line where the words run out of room.
    entries = [(legend.get(name, name), colour, 4) for name, colour in zip(rates, LINES, strict=False)]
    entries.append((legend.get("received", ""), BAR, 8))
    x, y = float(left), height - 26
    for label, colour, swatch in entries:
        span = 13 + _text_width(label, 9) + 10
        if x + span > width and x > left:
            x, y = float(left), y + 13
        parts.append(f'<rect x="{x:.0f}" y="{y - swatch / 2 - 3:.0f}" width="10" height="{swatch}" fill="{colour}"/>'
                     f'<text x="{x + 13:.0f}" y="{y:.0f}" font-size="9">{escape(label)}</text>')
        x += span
    return _svg(width, height, "".join(parts), title)


def bar_list(items: Sequence[tuple[str, int]], title: str) -> Markup:
    """Horizontal bars, one per item, longest first, each with its count."""
    width, row = 360, 20
    # Room for the longest label (up to half the width), so no name is cut off.
    label_w = min(max([_text_width(label, 11) for label, _ in items] or [40]) + 10, width / 2)
    peak = max([count for _, count in items] or [1])
    height = max(row * len(items), row)
    parts = []
    for i, (label, count) in enumerate(items):
        y = i * row
        w = (width - label_w - 40) * count / peak
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" font-size="11" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" fill="{BAR}"/>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="11">{count}</text>')
    return _svg(width, height, "".join(parts), title)
