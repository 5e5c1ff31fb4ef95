/**
 * Clears the proxy variables before anything loads jsforce: its transport reads HTTP(S)_PROXY once,
 * when the module loads, and would send the calls to the local emulators through the proxy. This
 * module must stay the first import of `main.ts` (ES modules evaluate in import order).
 */
for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[name]
