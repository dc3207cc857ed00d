# The edge-worker example under the real Cloudflare Workers runtime (workerd), laid out the way
# wrangler uploads it: the worker, the package's "workerd" entry and the .wasm file as a
# precompiled module (workerd does not compile wasm from bytes at run time).
#
# runtimes/workerd.test.js copies the files next to a copy of this config, fills in the port
# and the secret, and runs `workerd serve`. Module names are paths: the bare specifier
# '@fluxora/webhooks-wasm' in worker.js resolves to the module of that name, and the
# package's relative imports to its siblings under '@fluxora/'.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .receiver)],
  sockets = [(name = "http", address = "127.0.0.1:@PORT@", http = (), service = "main")],
);

const receiver :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "@fluxora/webhooks-wasm", esModule = embed "pkg/workerd.js"),
    (name = "@fluxora/api.js", esModule = embed "pkg/api.js"),
    (name = "@fluxora/fluxora_webhooks_wasm.js", esModule = embed "pkg/fluxora_webhooks_wasm.js"),
    (name = "@fluxora/fluxora_webhooks_wasm_bg.wasm", wasm = embed "pkg/fluxora_webhooks_wasm_bg.wasm"),
  ],
  compatibilityDate = "2024-09-23",
  bindings = [(name = "FLUXORA_WEBHOOK_SECRET", text = "@SECRET@")],
);
