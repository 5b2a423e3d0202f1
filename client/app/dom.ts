/** A tiny element builder: attributes as strings (or booleans for presence), children as nodes or text. */
export type Child = Node | string | null | undefined | false

export const h = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] => {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of children) if (child) element.append(child)
  return element
}

/** Something a view set up and must tear down (listeners, handles) when it goes away. */
export type Dispose = () => void

/** Collects disposers; `dispose()` runs them in reverse order, once. */
export class Disposables {
  private readonly items: Dispose[] = []
  add(dispose: Dispose): void {
    this.items.push(dispose)
  }
  listen<E extends Event>(target: EventTarget, type: string, listener: (event: E) => void): void {
    target.addEventListener(type, listener as EventListener)
    this.add(() => target.removeEventListener(type, listener as EventListener))
  }
  dispose = (): void => {
    for (const dispose of this.items.splice(0).reverse()) dispose()
  }
}

/**
 * A stable colour per user id (carets, selections, presence dots), as `#rrggbb`: y-prosemirror
 * accepts only that form (it appends an alpha for the selection, so any other form made the
 * selection invisible and logged a warning at every render).
 */
export const colorFor = (userId: string): string => {
  let hash = 0
  for (const char of userId) hash = (hash * 31 + char.charCodeAt(0)) >>> 0
  // Hue from the id; lightness low enough that the white caret label reads at 4.5:1 on every hue
  // (yellow is the lightest: at 38 % it was 2.6:1).
  return hslToHex(hash % 360, 0.7, 0.28)
}

const hslToHex = (hue: number, saturation: number, lightness: number): string => {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12
    const value = lightness - chroma / 2 * Math.max(-1, Math.min(k - 3, 9 - k, 1))
    return Math.round(value * 255).toString(16).padStart(2, '0')
  }
  return `#${channel(0)}${channel(8)}${channel(4)}`
}
