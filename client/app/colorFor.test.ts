import assert from 'node:assert/strict'
import { test } from 'node:test'
import { colorFor } from './dom.ts'

/** WCAG 2 relative luminance of `#rrggbb`. */
const luminance = (hex: string): number => {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const value = parseInt(hex.slice(at, at + 2), 16) / 255
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

test('every user colour is #rrggbb (the editor binding refuses other forms) and carries white caret labels at 4.5:1', () => {
  // Enough ids to hit every hue (the hue is the id's hash modulo 360).
  for (let n = 0; n < 5000; n++) {
    const color = colorFor(`user-${n}`)
    assert.match(color, /^#[0-9a-f]{6}$/)
    const contrast = 1.05 / (luminance(color) + 0.05)
    assert.ok(contrast >= 4.5, `${color} (user-${n}): ${contrast.toFixed(2)}:1 against white`)
  }
})
