// An RGB pixel canvas with just what a line chart needs: rectangles, thick lines, and text in a 3×5 bitmap font
// (upper case, digits and a few signs), so the plot carries its own axis labels without a font file.
import { encodePng } from './png-encoder.js';

export type Rgb = readonly [number, number, number];

/** 3×5 glyphs, rows top to bottom, `#` lit. */
const GLYPHS: Record<string, string> = {
  '0': '###,#.#,#.#,#.#,###',
  '1': '.#.,##.,.#.,.#.,###',
  '2': '###,..#,###,#..,###',
  '3': '###,..#,###,..#,###',
  '4': '#.#,#.#,###,..#,..#',
  '5': '###,#..,###,..#,###',
  '6': '###,#..,###,#.#,###',
  '7': '###,..#,..#,..#,..#',
  '8': '###,#.#,###,#.#,###',
  '9': '###,#.#,###,..#,###',
  '.': '...,...,...,...,.#.',
  ',': '...,...,...,.#.,#..',
  ':': '...,.#.,...,.#.,...',
  '-': '...,...,###,...,...',
  '=': '...,###,...,###,...',
  '/': '..#,..#,.#.,#..,#..',
  '%': '#.#,..#,.#.,#..,#.#',
  '(': '.#.,#..,#..,#..,.#.',
  ')': '.#.,..#,..#,..#,.#.',
  ' ': '...,...,...,...,...',
  A: '.#.,#.#,###,#.#,#.#',
  B: '##.,#.#,##.,#.#,##.',
  C: '###,#..,#..,#..,###',
  D: '##.,#.#,#.#,#.#,##.',
  E: '###,#..,##.,#..,###',
  F: '###,#..,##.,#..,#..',
  G: '###,#..,#.#,#.#,###',
  H: '#.#,#.#,###,#.#,#.#',
  I: '###,.#.,.#.,.#.,###',
  J: '..#,..#,..#,#.#,###',
  K: '#.#,#.#,##.,#.#,#.#',
  L: '#..,#..,#..,#..,###',
  M: '#.#,###,###,#.#,#.#',
  N: '##.,#.#,#.#,#.#,#.#',
  O: '###,#.#,#.#,#.#,###',
  P: '###,#.#,###,#..,#..',
  Q: '###,#.#,#.#,###,..#',
  R: '##.,#.#,##.,#.#,#.#',
  S: '###,#..,###,..#,###',
  T: '###,.#.,.#.,.#.,.#.',
  U: '#.#,#.#,#.#,#.#,###',
  V: '#.#,#.#,#.#,#.#,.#.',
  W: '#.#,#.#,###,###,#.#',
  X: '#.#,#.#,.#.,#.#,#.#',
  Y: '#.#,#.#,.#.,.#.,.#.',
  Z: '###,..#,.#.,#..,###',
};

export class Raster {
  private readonly pixels: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  setPixel(x: number, y: number, color: Rgb): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    this.pixels.set(color, (py * this.width + px) * 3);
  }

  fillRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    for (let py = Math.round(y); py < Math.round(y + height); py++)
      for (let px = Math.round(x); px < Math.round(x + width); px++) this.setPixel(px, py, color);
  }

  /** A line `thickness` pixels wide (a square brush stepped along it). */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const offset = Math.floor((thickness - 1) / 2);
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      this.fillRect(Math.round(x) - offset, Math.round(y) - offset, thickness, thickness, color);
    }
  }

  /** Text in the bitmap font, `scale` pixels per font pixel; returns its width. Unknown characters draw as blanks. */
  text(x: number, y: number, text: string, color: Rgb, scale = 2): number {
    let cursor = x;
    for (const character of text.toUpperCase()) {
      const rows = (GLYPHS[character] ?? GLYPHS[' ']!).split(',');
      rows.forEach((row, gy) => {
        for (let gx = 0; gx < row.length; gx++)
          if (row[gx] === '#') this.fillRect(cursor + gx * scale, y + gy * scale, scale, scale, color);
      });
      cursor += 4 * scale;
    }
    return cursor - x;
  }

  static textWidth(text: string, scale = 2): number {
    return text.length * 4 * scale;
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.pixels);
  }
}
