#!/usr/bin/env node
// The bundled CommonJS entry runs the command when loaded; this shim only locates it.
require("../dist/main.cjs")
