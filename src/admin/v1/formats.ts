/**
 * The JSON Schema formats the admin API's schemas use, as ajv formats: request bodies are
 * checked against them (dispatch.ts) and the conformance test checks responses with the same.
 */
export const FORMATS = {
  /** RFC 3339 §5.6 `date-time`: full date and time with an offset or `Z`. */
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  /** RFC 3339 `full-date`. */
  date: /^\d{4}-\d{2}-\d{2}$/,
} as const;
