import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Debian 12's `libnginx-mod-http-lua` (and the NDK it needs) install these. */
export const LUA_MODULE_FILES = ['ndk_http_module.so', 'ngx_http_lua_module.so'] as const;

/** The absolute paths of the modules fabric's nginx.conf loads itself, or undefined when one is missing. */
export function luaModules(modulesDir: string): string[] | undefined {
  const files = LUA_MODULE_FILES.map((f) => join(modulesDir, f));
  return files.every((f) => existsSync(f)) ? files : undefined;
}
