import type { KeyUsage } from '../api.ts';

const W = 600;
const H = 140;
const PAD = 18;

/**
 * Requests per UTC day as SVG bars: geometry in attributes, colours in the stylesheet, so the
 * strict CSP (no inline styles) holds. The numbers are also in each bar's title and in the label.
 */
export function UsageChart(props: { usage: KeyUsage }) {
  const days = props.usage.days;
  const top = Math.max(0, ...days.map((d) => d.count));
  const max = Math.max(1, top); // the scale; `top` is what the axis says
  const step = days.length === 0 ? 0 : (W - PAD) / days.length;
  const first = days[0]?.date ?? '';
  const last = days[days.length - 1]?.date ?? '';
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H + PAD}`} role="img" aria-label={`Requests per day from ${first} to ${last}: ${props.usage.total} in total, at most ${top} in a day`}>
        <line class="axis" x1={PAD} y1={H} x2={W} y2={H} />
        <text class="tick" x={0} y={10}>{top}</text>
        <text class="tick" x={0} y={H}>0</text>
        {days.map((d, i) => {
          const h = (d.count / max) * (H - 12);
          return (
            <rect key={d.date} class="bar" x={PAD + i * step + 1} y={H - h} width={Math.max(1, step - 2)} height={h}>
              <title>{`${d.date}: ${d.count}`}</title>
            </rect>
          );
        })}
        <text class="tick" x={PAD} y={H + PAD - 2}>{first}</text>
        <text class="tick end" x={W} y={H + PAD - 2}>{last}</text>
      </svg>
      <figcaption class="muted">{props.usage.total} {props.usage.total === 1 ? "request" : "requests"} in {days.length} days (UTC)</figcaption>
    </figure>
  );
}
