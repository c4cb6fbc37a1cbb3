// The real-component test harness. global-setup.ts is loaded by vitest itself and not exported.

export * from './bridge.js';
export * from './containers.js';
export * from './context.js';
export * from './cuttable-proxy.js';
export * from './dns.js';
export * from './dockerd.js';
export * from './etcd.js';
export * from './etcd-auth.js';
export * from './fabric.js';
export * from './http.js';
export * from './image.js';
export * from './metrics.js';
export * from './netns.js';
export * from './pebble.js';
export * from './pki.js';
export * from './ports.js';
export * from './proc-scan.js';
export * from './processes.js';
export * from './rng.js';
export * from './temp.js';
export * from './tls.js';
export * from './wait.js';
