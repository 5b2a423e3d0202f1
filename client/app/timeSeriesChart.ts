const SVG = 'http://www.w3.org/2000/svg'
const WIDTH = 300
const HEIGHT = 90
const PAD = { left: 34, right: 6, top: 6, bottom: 14 }

export interface Series {
  readonly label: string
  /** A CSS colour (the chart's legend says which line is which). */
  readonly color: string
  /** One value per point (null: nothing measured then: a gap). */
  readonly values: ReadonlyArray<number | null>
}

const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number>): SVGElementTagNameMap[K] => {
  const element = document.createElementNS(SVG, tag)
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value))
  return element
}

/**
 * A small time-series chart drawn as SVG by hand (a few dozen lines instead of a charting
 * library): one polyline per series over the last points, a y axis from 0 to the largest value
 * (or the threshold, whichever is higher), and an optional dashed threshold line. Decorative for
 * assistive technology: the chart's caption carries the latest values as text.
 */
export const timeSeriesChart = (series: readonly Series[], { threshold }: { threshold?: { value: number; label: string } } = {}): SVGSVGElement => {
  const root = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'chart', 'aria-hidden': 'true', focusable: 'false' })
  const points = Math.max(2, ...series.map((line) => line.values.length))
  const measured = series.flatMap((line) => line.values.filter((value): value is number => value !== null && Number.isFinite(value)))
  const top = Math.max(threshold?.value ?? 0, ...measured, 0) * 1.1 || 1
  const x = (index: number) => PAD.left + (index / (points - 1)) * (WIDTH - PAD.left - PAD.right)
  const y = (value: number) => HEIGHT - PAD.bottom - (value / top) * (HEIGHT - PAD.top - PAD.bottom)
  root.append(
    svg('line', { x1: PAD.left, y1: y(0), x2: WIDTH - PAD.right, y2: y(0), class: 'chart-axis' }),
    svg('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: y(0), class: 'chart-axis' }),
  )
  const topLabel = svg('text', { x: PAD.left - 4, y: PAD.top + 8, 'text-anchor': 'end', class: 'chart-label' })
  topLabel.textContent = formatTick(top)
  const zeroLabel = svg('text', { x: PAD.left - 4, y: y(0), 'text-anchor': 'end', class: 'chart-label' })
  zeroLabel.textContent = '0'
  root.append(topLabel, zeroLabel)
  if (threshold) {
    root.append(svg('line', { x1: PAD.left, y1: y(threshold.value), x2: WIDTH - PAD.right, y2: y(threshold.value), class: 'chart-threshold', 'data-threshold': threshold.value }))
    const label = svg('text', { x: WIDTH - PAD.right, y: y(threshold.value) - 2, 'text-anchor': 'end', class: 'chart-label' })
    label.textContent = threshold.label
    root.append(label)
  }
  for (const line of series) {
    // Gaps (null) split a line into runs.
    let run: string[] = []
    const flush = () => {
      if (run.length > 1) root.append(svg('polyline', { points: run.join(' '), fill: 'none', stroke: line.color, 'stroke-width': 1.5, class: 'chart-line' }))
      else if (run.length === 1) {
        const [cx, cy] = run[0]!.split(',')
        root.append(svg('circle', { cx: cx!, cy: cy!, r: 1.5, fill: line.color, class: 'chart-line' }))
      }
      run = []
    }
    const offset = points - line.values.length
    line.values.forEach((value, index) => {
      if (value === null || !Number.isFinite(value)) return flush()
      run.push(`${x(index + offset).toFixed(1)},${y(value).toFixed(1)}`)
    })
    flush()
  }
  return root
}

const formatTick = (value: number): string => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2))
