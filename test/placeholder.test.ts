import { it, expect } from "vitest"
it("e2e placeholder runs", () => expect(1 + 1).toBe(2))
