import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-contained nginx reverse proxy under `prefix` (run with `nginx -p prefix -c nginx.conf -e
 * error.log`): no system config, no mime.types, every temp path inside the prefix. One worker,
 * keep-alive to the upstream (HTTP/1.1 and an empty Connection header are what keepalive needs),
 * no access log.
 */
export function writeNginxConfig(prefix: string, port: number, upstreamPort: number): void {
  mkdirSync(join(prefix, 'tmp'), { recursive: true });
  writeFileSync(join(prefix, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp/body;
  proxy_temp_path tmp/proxy;
  fastcgi_temp_path tmp/fastcgi;
  uwsgi_temp_path tmp/uwsgi;
  scgi_temp_path tmp/scgi;
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }
  # nginx closes a keep-alive connection after 1000 requests by default; Node servers never do.
  # Raised on both sides so nginx is not charged reconnects the others don't pay.
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`);
}
