/**
 * The parts of `envoy.service.auth.v3` messages keygate reads and writes, as proto-loader hands
 * them over with LOADER_OPTIONS (snake_case names, absent fields absent, int64 as string).
 */

/** `envoy.config.core.v3.HeaderValue` (`raw_value` when Envoy's `encode_raw_headers` is on). */
export interface HeaderValue {
  key?: string;
  value?: string;
  raw_value?: Buffer;
}

/** `AttributeContext.HttpRequest`. */
export interface HttpRequestAttributes {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  header_map?: { headers?: HeaderValue[] };
  path?: string;
  host?: string;
  scheme?: string;
  size?: string;
  protocol?: string;
  body?: string;
  raw_body?: Buffer;
}

export interface SocketAddress {
  address?: string;
  port_value?: number;
}

export interface CheckRequest {
  attributes?: {
    source?: { address?: { socket_address?: SocketAddress }; principal?: string };
    request?: { http?: HttpRequestAttributes };
  };
}

/** `envoy.config.core.v3.HeaderValueOption`. */
export interface HeaderValueOption {
  header: { key: string; value: string };
  append?: { value: boolean };
  append_action?: 'APPEND_IF_EXISTS_OR_ADD' | 'ADD_IF_ABSENT' | 'OVERWRITE_IF_EXISTS_OR_ADD' | 'OVERWRITE_IF_EXISTS';
}

export interface OkHttpResponse {
  headers: HeaderValueOption[];
  headers_to_remove: string[];
}

export interface DeniedHttpResponse {
  /** `envoy.type.v3.HttpStatus`: the enum's values are the HTTP status numbers. */
  status: { code: number };
  headers: HeaderValueOption[];
  body: string;
}

export interface CheckResponse {
  /** `google.rpc.Status`: OK allows; anything else denies. */
  status: { code: number; message?: string };
  ok_response?: OkHttpResponse;
  denied_response?: DeniedHttpResponse;
}
