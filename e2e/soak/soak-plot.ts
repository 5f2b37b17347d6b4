// The soak's figure, from its JSON results: RSS per service (top) and end-to-end lag (bottom) over time, with the
// warm-up shaded grey and every injected fault as a band (latency spikes yellow, link cuts red).
import { Raster, type Rgb } from './raster.js';
import type { SoakResults } from './soak-report.js';

const WIDTH = 1000;
const HEIGHT = 760;
const INK: Rgb = [40, 40, 40];
const GRID: Rgb = [225, 225, 225];
const WARMUP: Rgb = [238, 238, 238];
const LATENCY_BAND: Rgb = [255, 240, 190];
const CUT_BAND: Rgb = [250, 205, 205];
const SERVICE_COLORS: Record<string, Rgb> = { users: [31, 119, 180], orders: [255, 127, 14] };
const LAG_COLOR: Rgb = [44, 160, 44];

interface Series {
  name: string;
  color: Rgb;
  points: Array<[number, number]>;
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A round tick step giving about `count` ticks over [0, max]. */
function tickStep(max: number, count = 5): number {
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((factor) => factor * magnitude).find((step) => step >= raw) ?? magnitude * 10;
}

const formatTick = (value: number): string => (Number.isInteger(value) ? String(value) : value.toFixed(1));

function panel(raster: Raster, box: Box, title: string, series: Series[], results: SoakResults): void {
  const xMax = results.durationSeconds;
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.map(([, v]) => v))) * 1.1;
  const xOf = (t: number): number => box.x + (Math.min(t, xMax) / xMax) * box.width;
  const yOf = (v: number): number => box.y + box.height - (v / yMax) * box.height;

  raster.fillRect(box.x, box.y, xOf(results.warmupSeconds) - box.x, box.height, WARMUP);
  for (const fault of results.faults) {
    const right = xOf(fault.t + fault.durationMs / 1000);
    raster.fillRect(
      xOf(fault.t),
      box.y,
      Math.max(2, right - xOf(fault.t)),
      box.height,
      fault.kind === 'cut' ? CUT_BAND : LATENCY_BAND,
    );
  }
  const yStep = tickStep(yMax);
  for (let v = 0; v <= yMax; v += yStep) {
    raster.line(box.x, yOf(v), box.x + box.width, yOf(v), GRID);
    const label = formatTick(v);
    raster.text(box.x - Raster.textWidth(label) - 8, yOf(v) - 5, label, INK);
  }
  const minutes = xMax >= 600;
  const xStep = tickStep(minutes ? xMax / 60 : xMax, 10) * (minutes ? 60 : 1);
  for (let t = 0; t <= xMax + 1e-9; t += xStep) {
    raster.line(xOf(t), box.y + box.height, xOf(t), box.y + box.height + 5, INK);
    const label = formatTick(minutes ? t / 60 : t);
    raster.text(xOf(t) - Raster.textWidth(label) / 2, box.y + box.height + 10, label, INK);
  }
  raster.text(
    box.x + box.width - Raster.textWidth(minutes ? 'MIN' : 'S') - 24,
    box.y + box.height + 26,
    minutes ? 'T (MIN)' : 'T (S)',
    INK,
  );
  raster.line(box.x, box.y, box.x, box.y + box.height, INK, 2);
  raster.line(box.x, box.y + box.height, box.x + box.width, box.y + box.height, INK, 2);

  for (const { color, points } of series)
    for (let i = 1; i < points.length; i++)
      raster.line(xOf(points[i - 1]![0]), yOf(points[i - 1]![1]), xOf(points[i]![0]), yOf(points[i]![1]), color, 2);

  raster.text(box.x, box.y - 22, title, INK);
  let legendX = box.x + box.width;
  for (const { name, color } of [...series].reverse()) {
    legendX -= Raster.textWidth(name) + 30;
    raster.fillRect(legendX, box.y - 22, 14, 10, color);
    raster.text(legendX + 20, box.y - 22, name, INK);
  }
}

export function renderSoakPlot(results: SoakResults): Buffer {
  const raster = new Raster(WIDTH, HEIGHT);
  const { verdict, rate } = results;
  raster.text(
    20,
    14,
    `SOAK ${results.label}: ${results.durationSeconds / 60} MIN AT ${rate.opsPerSecond} OPS/S, ${results.faults.length} FAULTS - ${verdict.passed ? 'PASS' : 'FAIL'}`,
    INK,
  );
  raster.fillRect(20, 36, 14, 10, WARMUP);
  let x = 60 + raster.text(40, 36, 'WARM-UP', INK);
  raster.fillRect(x, 36, 14, 10, LATENCY_BAND);
  x += 40 + raster.text(x + 20, 36, 'LATENCY SPIKE', INK);
  raster.fillRect(x, 36, 14, 10, CUT_BAND);
  raster.text(x + 20, 36, 'LINK CUT', INK);

  const services = Object.keys(SERVICE_COLORS);
  panel(
    raster,
    { x: 90, y: 100, width: WIDTH - 120, height: 260 },
    'RSS MIB',
    services.map((name) => ({
      name,
      color: SERVICE_COLORS[name]!,
      points: results.samples.filter((s) => s.rssMb[name] !== undefined).map((s) => [s.t, s.rssMb[name]!]),
    })),
    results,
  );
  panel(
    raster,
    { x: 90, y: 450, width: WIDTH - 120, height: 260 },
    'LAG (EVENTS COMMITTED, NOT YET APPLIED)',
    [{ name: 'lag', color: LAG_COLOR, points: results.samples.map((s) => [s.t, s.lag]) }],
    results,
  );
  return raster.toPng();
}
