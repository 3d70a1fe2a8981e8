"""Self-contained offline HTML for a ``pydeck.Deck``.

pydeck's own ``to_html`` loads deck.gl from a CDN, embeds the data as verbose JSON inside the
deck's props and writes it straight into a ``<script>`` block. Here:

- the deck.gl bundle that ships inside the pydeck wheel is inlined, and a
  Content-Security-Policy forbids any request, so the page opens on an offline network;
- the rows of our layers travel as columns: coordinates as 32-bit integers of 1e-6 degree
  (about 0.1 m), numbers as float32, colours as bytes, strings once each with an index per
  row, all base64-encoded. The page rebuilds the rows and hands them to the layers after
  deck.gl has parsed the props, so user text never passes through deck.gl's JSON converter;
- the layers are shown from the second frame on: deck.gl draws its first frame before it has
  seen the canvas's size and then draws again at that size, so a page that showed its layers
  at once would draw them twice (on software WebGL, a second or more per frame);
- every string is escaped for the script context, and the panel and tooltips are HTML-escaped;
- a deck with a :class:`Timeline` gets a play / pause button and a time slider: the clock sets
  ``currentTime`` of its ``TripsLayer`` layers and shows only the rows whose
  ``[shown_from, shown_until)`` (seconds) holds the clock.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pydeck as pdk

from cim.atomic import write_text
from cim.views.style import esc

__all__ = ["Timeline", "export_html", "render_html"]

SCALE = 1_000_000  # coordinates are sent as integers of 1e-6 degree
COORDINATES = {"position": 1, "path": 2, "polygon": 3}  # key → nesting depth
COLORS = ("color", "line")
SERIES = ("timestamps",)  # lists of numbers that float32 holds well enough (seconds of a day)


@dataclass(frozen=True)
class Timeline:
    """The clock of an animated view, in seconds: the slider runs from ``start_s`` to
    ``end_s``; the page opens paused at ``at_s``; the clock shows ``origin_s + t`` as HH:MM
    (``origin_s``: the time of day at ``t = 0``, in seconds after midnight).

    Set it as the ``timeline`` attribute of a deck (see :func:`cim.views.simulation_view`).
    """

    start_s: float
    end_s: float
    at_s: float
    origin_s: float = 0.0


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _coordinates(values: list, depth: int) -> dict:
    offsets = []
    level = values
    for _ in range(depth - 1):
        counts = np.fromiter((len(v) for v in level), dtype=np.uint32, count=len(level))
        offsets.append(_b64(np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)))
        level = [item for v in level for item in v]
    flat = np.asarray(level, dtype=float).reshape(-1, 2)
    return {
        "kind": "coords",
        "offsets": offsets,
        "values": _b64(np.round(flat * SCALE).astype(np.int32)),
    }


def _column(key: str, values: list) -> dict | None:
    if key in COORDINATES:
        return _coordinates(values, COORDINATES[key])
    if key in COLORS:
        rgba = np.array([list(c) + [255] * (4 - len(c)) for c in values], dtype=np.uint8)
        return {"kind": "color", "values": _b64(rgba)}
    if all(isinstance(v, str) or v is None for v in values):
        table, index = np.unique(np.array(values, dtype=object).astype(str), return_inverse=True)
        missing = [v is None for v in values]
        strings = [*table.tolist(), None]
        index = np.where(missing, len(table), index).astype(np.uint32)
        return {"kind": "text", "table": strings, "index": _b64(index)}
    if all(_is_number(v) for v in values):
        return {"kind": "number", "values": _b64(np.asarray(values, dtype=np.float32))}
    if key in SERIES and all(isinstance(v, list) and all(map(_is_number, v)) for v in values):
        counts = np.fromiter(map(len, values), dtype=np.uint32, count=len(values))
        return {
            "kind": "series",
            "offsets": _b64(np.concatenate([[0], np.cumsum(counts)]).astype(np.uint32)),
            "values": _b64(np.asarray([x for v in values for x in v], dtype=np.float32)),
        }
    return None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _columnar(rows) -> dict | None:
    """Rows as base64 columns, or None when a row holds something we do not encode."""
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return None
    keys = list(rows[0])
    if any(list(r) != keys for r in rows):
        return None
    columns = {}
    for key in keys:
        encoded = _column(key, [r[key] for r in rows])
        if encoded is None:
            return None
        columns[key] = encoded
    return {"length": len(rows), "columns": columns}


@functools.cache
def _deckgl_bundle() -> str:
    bundle = Path(pdk.__file__).parent / "nbextension" / "static" / "index.js"
    if not bundle.exists():
        raise FileNotFoundError(
            f"pydeck's deck.gl bundle is missing ({bundle}); reinstall pydeck>=0.9"
        )
    return bundle.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _script_json(value) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def _split_data(deck: pdk.Deck) -> tuple[dict, dict]:
    """The deck's props without the rows we encode, and the encoded rows by layer id."""
    columns, shells = {}, []
    for layer in deck.layers:
        encoded = _columnar(layer.data)
        shell = copy.copy(layer)
        if encoded is not None:
            columns[layer.id] = encoded
            shell._data = None
        shells.append(shell)
    outline = copy.copy(deck)
    outline.layers = shells
    props = {
        k: v
        for k, v in json.loads(outline.to_json()).items()
        if k not in ("description", "timeline")
    }
    return props, columns


_DECODE = """
const SCALE = %s;
function cimRows(blob) {
  const bytes = (text, Type) => {
    const raw = atob(text), out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return new Type(out.buffer);
  };
  const rows = Array.from({length: blob.length}, () => ({}));
  for (const [key, column] of Object.entries(blob.columns)) {
    if (column.kind === 'text') {
      const index = bytes(column.index, Uint32Array);
      rows.forEach((row, i) => { row[key] = column.table[index[i]]; });
    } else if (column.kind === 'number') {
      const values = bytes(column.values, Float32Array);
      rows.forEach((row, i) => { row[key] = values[i]; });
    } else if (column.kind === 'series') {
      const offsets = bytes(column.offsets, Uint32Array), values = bytes(column.values, Float32Array);
      rows.forEach((row, i) => { row[key] = Array.from(values.subarray(offsets[i], offsets[i + 1])); });
    } else if (column.kind === 'color') {
      const values = bytes(column.values, Uint8Array);
      rows.forEach((row, i) => { row[key] = Array.from(values.subarray(4 * i, 4 * i + 4)); });
    } else {
      const xy = bytes(column.values, Int32Array);
      const levels = column.offsets.map(o => bytes(o, Uint32Array));
      const nest = (depth, i) => {
        if (depth === levels.length) return [xy[2 * i] / SCALE, xy[2 * i + 1] / SCALE];
        const out = [];
        for (let j = levels[depth][i]; j < levels[depth][i + 1]; j++) out.push(nest(depth + 1, j));
        return out;
      };
      rows.forEach((row, i) => { row[key] = nest(0, i); });
    }
  }
  return rows;
}
""".replace("%s", str(SCALE))

_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:; worker-src blob:; connect-src data: blob:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; width: 100%; height: 100%; background: #f7f8fa; overflow: hidden; }}
#deck-container {{ position: absolute; inset: 0; }}
#cim-timeline {{ position: absolute; left: 12px; right: 12px; bottom: 12px; z-index: 10; display: flex;
  gap: 8px; align-items: center; padding: 6px 10px; background: rgba(255, 255, 255, 0.92); border-radius: 6px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25); font: 13px/1.4 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif; }}
#cim-time {{ flex: 1; }}
#cim-clock {{ min-width: 4.5em; font-variant-numeric: tabular-nums; font-weight: bold; }}
#cim-panel {{ position: absolute; top: 12px; left: 12px; z-index: 10; max-width: 280px; padding: 10px 12px;
  background: rgba(255, 255, 255, 0.92); border-radius: 6px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.25);
  font: 12px/1.5 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', sans-serif; color: #222; }}
</style>
<script>{bundle}</script>
</head>
<body>
<div id="deck-container"></div>
<div id="cim-panel">{panel}</div>
<script>
{decode}
(function () {{
  const deck = createDeck({{
    container: document.getElementById('deck-container'),
    jsonInput: {props},
    tooltip: {tooltip},
    showError: true,
  }});
  window.cimDeck = deck;
  if (!deck) return;
  const columns = {columns};
  const visible = Object.fromEntries(deck.props.layers.map(l => [l.id, l.props.visible]));
  let shown = false;
  deck.setProps({{
    layers: deck.props.layers.map(l => l.clone({{
      visible: false,
      ...(l.id in columns ? {{data: cimRows(columns[l.id])}} : {{}}),
    }})),
    onAfterRender: () => {{
      if (shown || !deck.props.layers.length) {{ document.body.dataset.rendered = 'true'; return; }}
      shown = true;
      deck.setProps({{layers: deck.props.layers.map(l => l.clone({{visible: visible[l.id]}}))}});
    }},
  }});
}})();
</script>
{timeline}
</body>
</html>
"""

_TIMELINE = """<div id="cim-timeline">
<button id="cim-play" type="button" title="播放 / 暂停 · play / pause">▶</button>
<input id="cim-time" type="range" step="1" aria-label="时间 · time">
<span id="cim-clock"></span>
<select id="cim-speed" title="播放速度 · speed">
<option value="60">1 分钟/秒</option><option value="600" selected>10 分钟/秒</option><option value="3600">1 小时/秒</option>
</select>
</div>
<script>
(function () {
  const deck = window.cimDeck, spec = %s;
  if (!deck) return;
  const slider = document.getElementById('cim-time'), clock = document.getElementById('cim-clock');
  const button = document.getElementById('cim-play'), speed = document.getElementById('cim-speed');
  slider.min = spec.start_s; slider.max = spec.end_s;
  const timed = {};  // layer id: every row; the rows shown are those whose span holds the clock
  for (const layer of deck.props.layers) {
    const rows = layer.props.data;
    if (Array.isArray(rows) && rows.length && 'shown_from' in rows[0]) timed[layer.id] = rows;
  }
  const pad = n => String(n).padStart(2, '0');
  const hhmm = s => {
    const minutes = Math.floor(s / 60), days = Math.floor(minutes / 1440);
    return (days ? `+${days}d ` : '') + pad(Math.floor(minutes / 60) %% 24) + ':' + pad(minutes %% 60);
  };
  let time = spec.at_s, playing = false, last = null;
  function show(t) {
    time = Math.min(Math.max(t, spec.start_s), spec.end_s);
    slider.value = time;
    clock.textContent = hhmm(spec.origin_s + time);
    deck.setProps({layers: deck.props.layers.map(layer => {
      if (layer.id in timed) {
        return layer.clone({data: timed[layer.id].filter(r => r.shown_from <= time && time < r.shown_until)});
      }
      return 'currentTime' in layer.props ? layer.clone({currentTime: time}) : layer;
    })});
  }
  function tick(now) {
    if (!playing) return;
    if (last !== null) show(time + (now - last) / 1000 * Number(speed.value));
    last = now;
    if (time >= spec.end_s) pause(); else requestAnimationFrame(tick);
  }
  function pause() { playing = false; button.textContent = '▶'; }
  function play() {
    if (time >= spec.end_s) show(spec.start_s);
    playing = true; last = null; button.textContent = '❚❚';
    requestAnimationFrame(tick);
  }
  button.addEventListener('click', () => (playing ? pause() : play()));
  slider.addEventListener('input', () => { pause(); show(Number(slider.value)); });
  window.cimTimeline = {show, play, pause, time: () => time};
  show(time);
})();
</script>"""


def render_html(deck: pdk.Deck, *, title: str | None = None) -> str:
    """The offline page for ``deck`` as a string (see :func:`export_html`)."""
    props, columns = _split_data(deck)
    return _PAGE.format(
        title=esc(title or "CIM 城市信息模型"),
        bundle=_deckgl_bundle(),
        panel=deck.description or "",
        decode=_DECODE,
        props=_script_json(props),
        tooltip=_script_json(deck._tooltip),
        columns=_script_json(columns),
        timeline=_timeline(getattr(deck, "timeline", None)),
    )


def _timeline(timeline: Timeline | None) -> str:
    """The controls and the clock script of an animated deck, or nothing."""
    if timeline is None:
        return ""
    return _TIMELINE % _script_json({k: float(v) for k, v in asdict(timeline).items()})


def export_html(deck: pdk.Deck, path, *, title: str | None = None) -> Path:
    """Write ``deck`` as one self-contained HTML file that opens with no network.

    The deck.gl bundle from the installed pydeck is inlined (about 4 MB); a
    Content-Security-Policy forbids any request to any host; layer rows travel as compact
    base64 columns (100,000 extruded buildings take about 7 MB); every string is escaped, so
    a name containing ``</script>`` stays text. The file is written atomically.

    Parameters
    ----------
    deck : pydeck.Deck
        E.g. from :func:`cim.views.city_view`. Its ``description`` (HTML, already escaped by
        the views) becomes the legend panel.
    path : str or Path
        Where to write the ``.html`` file.
    title : str, optional
        Page title (escaped).

    Returns
    -------
    Path

    Examples
    --------
    >>> import cim, tempfile
    >>> out = export_html(cim.views.city_view(cim.sample_city()), tempfile.mkdtemp() + "/map.html")
    >>> "<script src=" in out.read_text()
    False
    """
    return write_text(path, render_html(deck, title=title))
