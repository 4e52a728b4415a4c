/* clickstamp loader, served as /sdk/clickstamp.js:
     <script src="https://track.example.com/sdk/clickstamp.js"></script>
   Defines window.clickstamp at once. Every method returns a Promise; calls made before the SDK's
   WebAssembly has loaded are queued and run in order once it has. The endpoint defaults to where
   this script came from (its origin, or the path in front of /sdk/ behind a reverse proxy).
   A queue made before this tag also works: window.clickstamp = window.clickstamp || {q: []};
   clickstamp.q.push(["click", {}]). If the SDK cannot load, calls resolve to "" (or a conversion
   result with status "error"): they never reject and never hang. */
(function (w) {
  var src = document.currentScript && document.currentScript.src;
  var dir = src ? src.replace(/[?#].*$/, "").replace(/[^/]*$/, "") : "";
  var names = ["configure", "click", "impression", "conversion", "consent", "urlParameter",
    "getTransactionId", "getAdvertiserTransactionId"];
  var waiting = [];
  var sdk, failed;
  var api = {};
  var early = (w.clickstamp && w.clickstamp.q) || [];

  function run(name, args, resolve) {
    try {
      if (failed) throw 0;
      resolve(sdk[name].apply(null, args));
    } catch (e) {
      resolve(name == "conversion"
        ? { conversion_id: "", status: "error", error_code: 0, error: "clickstamp SDK not loaded" }
        : name == "configure" || name == "consent" ? undefined : "");
    }
  }
  names.forEach(function (name) {
    api[name] = function () {
      var args = arguments;
      return new Promise(function (resolve) {
        sdk || failed ? run(name, args, resolve) : waiting.push([name, args, resolve]);
      });
    };
  });
  api.q = { push: function (c) { api[c[0]].apply(null, [].slice.call(c, 1)); } };
  w.clickstamp = api;
  early.forEach(api.q.push);

  import(dir + "clickstamp_sdk.js")
    .then(function (m) {
      return m.default({ module_or_path: dir + "clickstamp_sdk_bg.wasm" }).then(function () {
        if (src) m.configure({ endpoint: /\/sdk\/$/.test(dir) ? dir.slice(0, -5) : new URL(src).origin });
        sdk = m;
      });
    })
    .catch(function () { failed = 1; })
    .then(function () { waiting.splice(0).forEach(function (c) { run(c[0], c[1], c[2]); }); });
})(window);
