// jsforce reads these when its transport module loads and would send loopback calls through a proxy.
for (const v of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[v]
