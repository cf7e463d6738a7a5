/**
 * The waterfall of `make bench` as SVG text: ADD and DEL, each plugin a bar on one time axis,
 * its stretches coloured by what they were spent on. No dependency: the picture is a few dozen
 * rectangles.
 *
 * @module
 */
import type { SegmentKind, Waterfall, WaterfallRow } from "./bench_report.ts";

const KINDS: readonly { kind: SegmentKind; colour: string; ink: string; legend: string }[] = [
  {
    kind: "startup",
    colour: "#b5b5b5",
    ink: "#222",
    legend:
      "start-up (ours: to the bundle evaluated; host-device: to its first netlink request or its IPAM)",
  },
  { kind: "work", colour: "#4e79a7", ink: "#fff", legend: "the plugin's own work" },
  { kind: "move", colour: "#e15759", ink: "#fff", legend: "the netns move (the kernel's request)" },
  { kind: "ipam", colour: "#f28e2b", ink: "#222", legend: "IPAM (host-local, exec to exit)" },
  { kind: "exit", colour: "#d9d2cc", ink: "#222", legend: "exit (ours: after its last phase)" },
];

const WIDTH = 760;
const LEFT = 96;
const RIGHT = 56;
const BAR = 18;
const GAP = 6;
const FONT = `font-family="sans-serif" font-size="11"`;

/** Escapes text for an SVG text node or attribute. */
function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const fixed = (v: number) => v.toFixed(1);

/**
 * @param w the waterfall's figures
 * @param caption one line under the title: where and how it was measured
 * @returns a standalone SVG document
 */
export function renderWaterfall(w: Waterfall, caption: string): string {
  const rows = [...w.add, ...w.del];
  const longest = Math.max(1, ...rows.flatMap((r) => r.segments.map((s) => s.end)));
  const span = Math.ceil(longest / 10) * 10;
  const plot = WIDTH - LEFT - RIGHT;
  const px = (ms: number) => LEFT + (ms / span) * plot;
  const out: string[] = [];
  let y = 40;
  const group = (title: string, group: WaterfallRow[]) => {
    out.push(`<text x="8" y="${y + 12}" ${FONT} font-weight="bold">${esc(title)}</text>`);
    y += 18;
    for (const row of group) {
      out.push(`<text x="8" y="${y + 13}" ${FONT}>${esc(row.label)}</text>`);
      for (const s of row.segments) {
        const x0 = px(s.start);
        const width = Math.max(0.5, px(s.end) - x0);
        const kind = KINDS.find((k) => k.kind === s.kind);
        out.push(
          `<rect x="${fixed(x0)}" y="${y}" width="${
            fixed(width)
          }" height="${BAR}" fill="${kind?.colour}">` +
            `<title>${s.kind}: ${fixed(s.start)}–${fixed(s.end)} ms</title></rect>`,
        );
        if (width > 30) {
          out.push(
            `<text x="${fixed(x0 + width / 2)}" y="${y + 13}" ${FONT} fill="${kind?.ink}" ` +
              `text-anchor="middle">${fixed(s.end - s.start)}</text>`,
          );
        }
      }
      const end = row.segments.at(-1)?.end ?? 0;
      out.push(`<text x="${fixed(px(end) + 4)}" y="${y + 13}" ${FONT}>${fixed(end)} ms</text>`);
      y += BAR + GAP;
    }
    y += 8;
  };
  group("ADD", w.add);
  group("DEL", w.del);
  const top = 40;
  const axis: string[] = [];
  for (let ms = 0; ms <= span; ms += 10) {
    const x = fixed(px(ms));
    axis.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${x}" y="${y + 12}" ${FONT} text-anchor="middle">${ms}</text>`,
    );
  }
  axis.push(`<text x="8" y="${y + 12}" ${FONT}>ms</text>`);
  y += 28;
  const legend = KINDS.map((k, i) => {
    const ly = y + i * 16;
    return `<rect x="8" y="${ly}" width="12" height="12" fill="${k.colour}"/>` +
      `<text x="26" y="${ly + 10}" ${FONT}>${esc(k.legend)}</text>`;
  });
  y += KINDS.length * 16 + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}">`,
    `<rect width="${WIDTH}" height="${y}" fill="#fff"/>`,
    `<text x="8" y="16" font-family="sans-serif" font-size="13" font-weight="bold">` +
    `Where an ADD and a DEL spend their time, from the plugin's execve</text>`,
    `<text x="8" y="31" ${FONT} fill="#555">${esc(caption)}</text>`,
    ...axis,
    ...out,
    ...legend,
    "</svg>",
    "",
  ].join("\n");
}
