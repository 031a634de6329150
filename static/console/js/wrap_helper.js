/* The Import key material wizard's in-browser helper (Step 3: Encrypt key material).
 *
 * It generates 32 random bytes (or reads the key material a trainee kept, for a reimport) and wraps
 * them with the downloaded wrapping key using WebCrypto, here in the page: the plaintext key
 * material is never sent to the server. WebCrypto needs a secure context (HTTPS or localhost).
 *
 * RSAES_OAEP_SHA_*: RSA-OAEP of the material, MGF1 with the same hash (WebCrypto's RSA-OAEP).
 * RSA_AES_KEY_WRAP_SHA_*: RSA-OAEP of a fresh AES-256 key, followed by the material wrapped under
 * that key with AES key wrap with padding (RFC 5649). WebCrypto's AES-KW is RFC 3394 only (fixed IV
 * A6A6A6A6A6A6A6A6, no padding), so RFC 5649 is built here from single AES block encryptions,
 * each one AES-CBC with a zero IV over one block (its first 16 bytes are the ECB block).
 */
(function () {
  "use strict";

  var OAEP_HASH = {
    RSAES_OAEP_SHA_256: "SHA-256",
    RSAES_OAEP_SHA_1: "SHA-1",
    RSA_AES_KEY_WRAP_SHA_256: "SHA-256",
    RSA_AES_KEY_WRAP_SHA_1: "SHA-1"
  };
  var KWP_IV = [0xa6, 0x59, 0x59, 0xa6];
  var MATERIAL_BYTES = 32;

  function subtle() {
    return window.crypto && window.crypto.subtle;
  }

  function concat(parts) {
    var length = parts.reduce(function (sum, part) { return sum + part.length; }, 0);
    var out = new Uint8Array(length);
    var offset = 0;
    parts.forEach(function (part) { out.set(part, offset); offset += part.length; });
    return out;
  }

  /* A function that AES-encrypts one 16-byte block under rawKey (AES-ECB, from AES-CBC with a zero IV). */
  async function blockEncryptor(rawKey) {
    var key = await subtle().importKey("raw", rawKey, { name: "AES-CBC" }, false, ["encrypt"]);
    var zeroIv = new Uint8Array(16);
    return async function (block) {
      var out = await subtle().encrypt({ name: "AES-CBC", iv: zeroIv }, key, block);
      return new Uint8Array(out.slice(0, 16));
    };
  }

  /* RFC 5649: AES key wrap with padding (alternative IV A65959A6 followed by the 32-bit length). */
  async function aesKeyWrapWithPadding(kek, plaintext) {
    if (!plaintext.length) { throw new Error("There is no key material to wrap."); }
    var encrypt = await blockEncryptor(kek);
    var length = plaintext.length;
    var padded = new Uint8Array(Math.ceil(length / 8) * 8);
    padded.set(plaintext);
    var a = new Uint8Array(8);
    a.set(KWP_IV);
    a[4] = (length >>> 24) & 0xff;
    a[5] = (length >>> 16) & 0xff;
    a[6] = (length >>> 8) & 0xff;
    a[7] = length & 0xff;
    if (padded.length === 8) {
      return encrypt(concat([a, padded]));
    }
    var n = padded.length / 8;
    var r = [];
    for (var i = 0; i < n; i++) { r.push(padded.slice(8 * i, 8 * i + 8)); }
    for (var j = 0; j < 6; j++) {
      for (var k = 0; k < n; k++) {
        var b = await encrypt(concat([a, r[k]]));
        a = b.slice(0, 8);
        var t = n * j + k + 1;
        for (var pos = 7; pos >= 0 && t > 0; pos--) {
          a[pos] ^= t & 0xff;
          t = Math.floor(t / 256);
        }
        r[k] = b.slice(8, 16);
      }
    }
    return concat([a].concat(r));
  }

  /* Wrap key material with a DER SubjectPublicKeyInfo wrapping key, as the named algorithm does. */
  async function wrapKeyMaterial(publicKeyDer, algorithm, material) {
    var hash = OAEP_HASH[algorithm];
    if (!hash) { throw new Error("Unknown wrapping algorithm " + algorithm + "."); }
    var rsaKey;
    try {
      rsaKey = await subtle().importKey("spki", publicKeyDer, { name: "RSA-OAEP", hash: hash }, false, ["encrypt"]);
    } catch (e) {
      throw new Error("This file is not a wrapping key (an RSA public key in DER). Choose the wrappingKey_ file from ImportParameters.zip.");
    }
    if (algorithm.indexOf("RSAES_OAEP_") === 0) {
      try {
        return new Uint8Array(await subtle().encrypt({ name: "RSA-OAEP" }, rsaKey, material));
      } catch (e) {
        throw new Error("The key material is too long to encrypt directly with this wrapping key.");
      }
    }
    var aesKey = window.crypto.getRandomValues(new Uint8Array(32));
    try {
      var encryptedAesKey = new Uint8Array(await subtle().encrypt({ name: "RSA-OAEP" }, rsaKey, aesKey));
      var wrapped = await aesKeyWrapWithPadding(aesKey, material);
      return concat([encryptedAesKey, wrapped]);
    } finally {
      aesKey.fill(0);
    }
  }

  function save(bytes, name) {
    var url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  async function readFile(input) {
    var file = input.files && input.files[0];
    return file ? new Uint8Array(await file.arrayBuffer()) : null;
  }

  function start(root) {
    var status = root.querySelector("[data-helper-status]");
    var controls = root.querySelector("[data-helper-controls]");
    var result = root.querySelector("[data-helper-result]");
    var done = root.querySelector("[data-helper-done]");
    var keyInput = root.querySelector("[data-helper-wrapping-key]");
    var materialInput = root.querySelector("[data-helper-material]");
    var algorithmSelect = root.querySelector("[data-helper-algorithm]");
    var run = root.querySelector("[data-helper-run]");
    var files = { encrypted: null, plaintext: null };

    if (!window.isSecureContext || !subtle()) {
      status.textContent = "This page is not a secure context (it was opened over plain HTTP on a host other " +
        "than localhost), so the browser offers no WebCrypto and the in-browser helper cannot run. Open the " +
        "console over HTTPS or at http://localhost, or use the OpenSSL commands above.";
      status.classList.add("import-wizard__helper-status--error");
      return;
    }
    var instruction = "Choose the wrapping key file, then choose Generate and wrap key material.";
    status.textContent = instruction;
    controls.hidden = false;

    function fail(message) {
      status.textContent = message;
      status.classList.add("import-wizard__helper-status--error");
    }

    run.addEventListener("click", async function () {
      status.classList.remove("import-wizard__helper-status--error");
      status.textContent = instruction;
      result.hidden = true;
      files.encrypted = files.plaintext = null;
      try {
        var publicKey = await readFile(keyInput);
        if (!publicKey) { fail("Choose the wrapping key file (wrappingKey_…) first."); return; }
        var material = await readFile(materialInput);
        var reused = material !== null;
        if (!reused) { material = window.crypto.getRandomValues(new Uint8Array(MATERIAL_BYTES)); }
        var algorithm = algorithmSelect.value;
        files.encrypted = await wrapKeyMaterial(publicKey, algorithm, material);
        files.plaintext = material;
        var note = reused ? "the key material from your file" : "32 new random bytes of key material";
        var message = "Wrapped " + note + " with " + algorithm + ".";
        if (material.length !== MATERIAL_BYTES) {
          message += " Note: this key material is " + material.length + " bytes, not 32; KMS will refuse it.";
        }
        done.textContent = message;
        result.hidden = false;
      } catch (e) {
        fail(e && e.message ? e.message : "The key material could not be wrapped.");
      }
    });

    root.querySelectorAll("[data-helper-save]").forEach(function (button) {
      button.addEventListener("click", function () {
        var which = button.getAttribute("data-helper-save");
        if (!files[which]) { return; }
        save(files[which], which === "encrypted" ? "EncryptedKeyMaterial.bin" : "PlaintextKeyMaterial.bin");
      });
    });
  }

  window.consoleclone = window.consoleclone || {};
  window.consoleclone.wrapHelper = {
    aesKeyWrapWithPadding: aesKeyWrapWithPadding,
    wrapKeyMaterial: wrapKeyMaterial
  };

  function init() {
    document.querySelectorAll("[data-wrap-helper]").forEach(start);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
