// biome-ignore-all lint/a11y/useSemanticElements: a <tbody> cannot take content-visibility, the point of this table
// biome-ignore-all lint/a11y/useFocusableInteractive: rows and headers of a static table, not a grid widget: nothing to focus
import type { ComponentChildren } from 'preact';

const CHUNK = 50;

/**
 * A long table as ARIA table roles over CSS-grid rows, in chunks of 50 that the browser skips
 * laying out while off screen (`content-visibility: auto`, which a real <tbody> cannot have): a
 * thousand rows cost the layout of the few chunks in view, which is what keeps issue 15's
 * "1,000 principals in under 1 s" on a loaded machine. Every row stays in the DOM and in the
 * accessibility tree, so find-in-page, screen readers and tests see them all.
 */
export function ChunkedTable<T>(props: {
  label: string;
  columns: string[];
  items: T[];
  rowKey: (item: T) => string;
  cells: (item: T) => ComponentChildren[];
}) {
  const chunks: T[][] = [];
  for (let i = 0; i < props.items.length; i += CHUNK) chunks.push(props.items.slice(i, i + CHUNK));
  return (
    <div role="table" aria-label={props.label} aria-rowcount={props.items.length + 1} class="gtable">
      <div role="rowgroup" class="ghead">
        <div role="row" class="grow">
          {props.columns.map((c) => <span role="columnheader" key={c}>{c}</span>)}
        </div>
      </div>
      {chunks.map((rows) => (
        <div role="rowgroup" class="gchunk" key={props.rowKey(rows[0] as T)}>
          {rows.map((item) => (
            <div role="row" class="grow" key={props.rowKey(item)}>
              {props.cells(item).map((c, i) => <span role="cell" key={props.columns[i]}>{c}</span>)}
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
