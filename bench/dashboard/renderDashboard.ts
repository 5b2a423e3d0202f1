/** One panel of the dashboard with the data its queries returned. */
export interface PanelData {
  readonly title: string
  /** Grafana's layout: 24 columns, rows of 30 px. */
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number }
  readonly unit: string
  readonly threshold: number | null
  readonly series: ReadonlyArray<{ readonly label: string; readonly points: ReadonlyArray<readonly [number, number]> }>
}

const COLOURS = ['#73bf69', '#f2cc0c', '#5794f2', '#ff9830', '#b877d9', '#37872d', '#fade2a', '#8ab8ff']
const ROW_PX = 30
const WIDTH_PX = 1600

/**
 * The dashboard as a static HTML page, in Grafana's dark look and layout: each panel a line chart
 * (SVG) of its series, with the threshold drawn as a dashed red line. Only what a screenshot needs.
 */
export const renderDashboard = (title: string, panels: readonly PanelData[], range: { from: Date; to: Date }): string => {
  const rows = Math.max(...panels.map((panel) => panel.gridPos.y + panel.gridPos.h))
  const column = WIDTH_PX / 24
  const body = panels
    .map((panel) => {
      const left = panel.gridPos.x * column + 4
      const top = panel.gridPos.y * ROW_PX + 56
      const width = panel.gridPos.w * column - 8
      const height = panel.gridPos.h * ROW_PX - 8
      return `<section style="left:${left}px;top:${top}px;width:${width}px;height:${height}px"><h2>${escape(panel.title)}</h2>${chart(panel, width - 16, height - 70)}${legend(panel)}</section>`
    })
    .join('\n')
  const span = `${range.from.toISOString().slice(11, 19)} – ${range.to.toISOString().slice(11, 19)} UTC`
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;color:#ccccdc;font:13px Inter,Helvetica,Arial,sans-serif;width:${WIDTH_PX}px;height:${rows * ROW_PX + 64}px;position:relative}
header{height:48px;display:flex;align-items:center;padding:0 12px;border-bottom:1px solid #2a2c33;font-size:18px}
header small{margin-left:auto;font-size:12px;color:#8e8e9a}
section{position:absolute;box-sizing:border-box;background:#181b1f;border:1px solid #2a2c33;border-radius:3px;padding:6px 8px}
h2{margin:0 0 4px;font-size:13px;font-weight:500;color:#ccccdc}
.legend{font-size:11px;color:#9fa0a9;display:flex;flex-wrap:wrap;gap:2px 12px;margin-top:2px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
text{fill:#8e8e9a;font-size:10px}
</style></head><body><header>${escape(title)}<small>Node: All · ${span} · real data: a local Prometheus scraping a local server under a scripted workload</small></header>
${body}
</body></html>`
}

const chart = (panel: PanelData, width: number, height: number): string => {
  const points = panel.series.flatMap((series) => series.points)
  if (points.length === 0) return `<svg width="${width}" height="${height}"><text x="${width / 2 - 20}" y="${height / 2}">No data</text></svg>`
  const maxX = Math.max(...points.map(([x]) => x), 1)
  const maxY = niceMax(Math.max(...points.map(([, y]) => y), panel.threshold ?? 0, 1e-9))
  const left = 52
  const plotWidth = width - left - 4
  const plotHeight = height - 16
  const x = (value: number) => left + (value / maxX) * plotWidth
  const y = (value: number) => 4 + plotHeight - (value / maxY) * plotHeight
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((share) => `<line x1="${left}" x2="${width - 4}" y1="${y(share * maxY)}" y2="${y(share * maxY)}" stroke="#2a2c33"/><text x="2" y="${y(share * maxY) + 3}">${formatValue(share * maxY, panel.unit)}</text>`)
    .join('')
  const minutes = Array.from({ length: Math.floor(maxX / 30) + 1 }, (_, index) => index * 30)
    .map((second) => `<text x="${x(second) - 8}" y="${height - 2}">${Math.floor(second / 60)}:${String(second % 60).padStart(2, '0')}</text>`)
    .join('')
  const lines = panel.series
    .map((series, index) => {
      const path = series.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')
      return `<polyline fill="none" stroke="${COLOURS[index % COLOURS.length]}" stroke-width="1.6" points="${path}"/>`
    })
    .join('')
  const threshold = panel.threshold === null ? '' : `<line x1="${left}" x2="${width - 4}" y1="${y(panel.threshold)}" y2="${y(panel.threshold)}" stroke="#f2495c" stroke-dasharray="6 4"/>`
  return `<svg width="${width}" height="${height}">${grid}${minutes}${threshold}${lines}</svg>`
}

const legend = (panel: PanelData): string =>
  `<div class="legend">${panel.series.map((series, index) => `<span><i style="background:${COLOURS[index % COLOURS.length]}"></i>${escape(series.label || panel.title)}</span>`).join('')}${
    panel.threshold === null ? '' : `<span><i style="background:#f2495c"></i>threshold ${formatValue(panel.threshold, panel.unit)}</span>`
  }</div>`

const niceMax = (value: number): number => {
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power
  return 10 * power
}

const formatValue = (value: number, unit: string): string => {
  if (unit === 'percent') return `${trim(value)}%`
  if (unit === 's') return value < 1 ? `${trim(value * 1000)} ms` : `${trim(value)} s`
  if (unit === 'bytes') return value >= 2 ** 20 ? `${trim(value / 2 ** 20)} MiB` : `${trim(value / 1024)} KiB`
  if (unit === 'ops') return `${trim(value)}/s`
  return trim(value)
}

const trim = (value: number): string => (value === 0 ? '0' : Number(value.toPrecision(3)).toString())

const escape = (text: string): string => text.replace(/[&<>"]/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[char]!)
