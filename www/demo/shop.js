// Demo Shop helpers: load the clickstamp SDK from the tracking domain, like an advertiser would.
//
// /config.js (served by the demo site) sets window.CLICKSTAMP_ENDPOINT to the collector's
// origin. An advertiser would simply write
//   <script src="https://track.example.com/sdk/clickstamp.js"></script>
// The SDK's default endpoint is the origin it was loaded from, so no configure() call is needed.
//
// Page state for people and for the browser tests: <body data-state="loading|done|error">,
// and #error holds the message when something went wrong.
(function () {
  "use strict";

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function fail(message) {
    // Placeholders such as "loading…" would claim that something is still happening.
    var pending = document.querySelectorAll("[data-pending]");
    for (var i = 0; i < pending.length; i++) pending[i].textContent = "–";
    text("error", message);
    var el = document.getElementById("error");
    if (el) el.hidden = false;
    document.body.setAttribute("data-state", "error");
  }

  function done() {
    document.body.setAttribute("data-state", "done");
  }

  function endpoint() {
    var e = window.CLICKSTAMP_ENDPOINT;
    return typeof e === "string" && e ? e.replace(/\/+$/, "") : "";
  }

  // Inserts <script src="{endpoint}/sdk/clickstamp.js"> and calls onReady(window.clickstamp).
  function loadClickstamp(onReady) {
    var base = endpoint();
    if (!base) {
      fail("config.js did not set CLICKSTAMP_ENDPOINT: is the demo site served by `clickstamp serve --demo-site`?");
      return;
    }
    var s = document.createElement("script");
    s.src = base + "/sdk/clickstamp.js";
    s.onload = function () {
      if (!window.clickstamp) {
        fail("loaded " + s.src + " but it did not define window.clickstamp");
        return;
      }
      try {
        onReady(window.clickstamp);
      } catch (e) {
        fail(String(e && e.message ? e.message : e));
      }
    };
    s.onerror = function () {
      fail("could not load the SDK from " + s.src + " (is the collector running, and was the SDK built?)");
    };
    document.head.appendChild(s);
  }

  function errorMessage(e) {
    if (e && e.message) return e.message;
    try { return typeof e === "string" ? e : JSON.stringify(e); } catch (_) { return String(e); }
  }

  window.shop = {
    text: text,
    fail: fail,
    done: done,
    endpoint: endpoint,
    loadClickstamp: loadClickstamp,
    errorMessage: errorMessage,
  };
})();
