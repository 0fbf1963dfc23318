import { describe, expect, it } from "vitest";
import { keyBytes } from "../../src/lib/push";

describe("the VAPID key for pushManager.subscribe", () => {
  it("decodes the server's base64url key (no padding, - and _) to the raw 65-byte P-256 point", () => {
    // A key as py_vapid / the push helper print it: 0x04 || X || Y, base64url, unpadded.
    const key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    const bytes = keyBytes(key);
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(4);
    const back = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect(back).toBe(key);
  });
});
