import { fileURLToPath } from 'node:url';
import { loadSync, type Options } from '@grpc/proto-loader';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';

/**
 * The vendored Envoy protos (repo root `proto/`, see its README for sources and licenses). Three
 * levels up from both `src/check/grpc/` and `dist/check/grpc/`, so the same path works from the
 * sources, the npm package and the container image.
 */
export const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/**
 * One set of loader options for the service and for test clients. `keepCase` keeps the proto's
 * snake_case names (`headers_to_remove`, `raw_body`), the names Envoy's docs and configs use.
 * `defaults: false`: an absent field stays absent, so "Envoy sent no body" is distinguishable
 * from "Envoy sent an empty one".
 */
export const LOADER_OPTIONS: Options = { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true, includeDirs: [PROTO_DIR] };

/** `envoy.service.auth.v3.Authorization`, as a grpc-js client constructor (its `.service` serves). */
export function loadAuthorizationService(): ServiceClientConstructor {
  const def = loadSync('envoy/service/auth/v3/external_auth.proto', LOADER_OPTIONS);
  const ns = loadPackageDefinition(def) as unknown as { envoy: { service: { auth: { v3: { Authorization: ServiceClientConstructor } } } } };
  return ns.envoy.service.auth.v3.Authorization;
}
