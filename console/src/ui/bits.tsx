import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.ts';

/** An error as the API reported it, announced to screen readers. Text only. */
export function ErrorText(props: { error: unknown }) {
  if (props.error === undefined || props.error === null) return null;
  const e = props.error;
  const text = e instanceof ApiError ? `${e.message} (${e.code}${e.field === undefined ? '' : `, ${e.field}`})` : e instanceof Error ? e.message : String(e);
  return <p role="alert" class="error">{text}</p>;
}

export function Loading(props: { what: string }) {
  return <p class="muted" aria-live="polite">Loading {props.what}…</p>;
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge badge-${props.status.replace(/[^a-z_]/g, '')}`}>{props.status}</span>;
}

/** A definition list row: label and value. */
export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}
