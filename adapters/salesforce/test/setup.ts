// jsforce reads these when its transport module loads and sends loopback calls through the proxy.
for (const v of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]) delete process.env[v]
