import { bodyBytes } from '../../src/model/policy/max-body-size.js';

/**
 * maxBodySize → HAProxy backend lines. HAProxy cannot count a body it does not buffer whole, so the
 * declared Content-Length decides (413 above the limit); a chunked body declares none and is
 * refused with 411 Length Required on such a service (docs/routing.md). nginx counts both.
 */
export function haproxyBodyLines(maxBodySize: number | undefined): string[] {
  if (maxBodySize === undefined) return [];
  const bytes = bodyBytes(maxBodySize);
  return [
    `http-request deny deny_status 413 if { req.hdr_val(content-length) gt ${bytes} }`,
    // `deny_status` has no 411: a `return`, its body one bare word (a quoted string must end the line).
    'http-request return status 411 content-type text/plain string length-required if { req.hdr(transfer-encoding) -m found } !{ req.hdr(content-length) -m found }',
  ];
}

/** maxBodySize → the nginx location directive (it counts chunked bodies as they arrive). */
export function nginxBodyLines(maxBodySize: number | undefined): string[] {
  return maxBodySize === undefined ? [] : [`client_max_body_size ${bodyBytes(maxBodySize)};`];
}
