"""The official Node client (``toxiproxy-node-client``) drives ``ringlab proxy`` end to end.

The client is installed with npm into ``test-output/node-toxiproxy`` on the first run
and reused after. Node and npm are required, not optional: without them this test
fails and says so (``.ci/run`` installs them from Debian).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.simulator.network.proxy.loopback import ProxyProcess

ROOT = Path(__file__).resolve().parents[4]
CACHE = ROOT / "test-output" / "node-toxiproxy"
PACKAGE = "toxiproxy-node-client@4"  # v4: the fetch-based client with Toxiproxy/Proxy/Toxic

SCRIPT = r"""
const net = require("net");
const { Toxiproxy } = require("toxiproxy-node-client");

const split = (address) => {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
};

function echoServer() {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => {});
      socket.pipe(socket);
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

// milliseconds from connect to the echo of a short message through the proxy
function roundTrip(listen) {
  const [host, port] = split(listen);
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let start;
    let got = "";
    socket.setTimeout(20000, () => reject(new Error("no echo within 20 s")));
    socket.on("connect", () => {
      start = process.hrtime.bigint();
      socket.write("ping");
    });
    socket.on("data", (data) => {
      got += data;
      if (got.length >= 4) {
        socket.end();
        resolve(Number(process.hrtime.bigint() - start) / 1e6);
      }
    });
    socket.on("error", reject);
  });
}

function refused(listen) {
  const [host, port] = split(listen);
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.on("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("error", (error) => resolve(error.code === "ECONNREFUSED"));
  });
}

(async () => {
  const server = await echoServer();
  const upstream = `127.0.0.1:${server.address().port}`;
  const toxiproxy = new Toxiproxy(process.argv[2]);
  const version = JSON.parse(await toxiproxy.getVersion()).version;
  const proxy = await toxiproxy.createProxy({ name: "node", listen: "127.0.0.1:0", upstream });
  const base = await roundTrip(proxy.listen);
  const toxic = await proxy.addToxic({
    type: "latency",
    name: "slow",
    stream: "downstream",
    toxicity: 1,
    attributes: { latency: 300, jitter: 0 },
  });
  const slow = await roundTrip(proxy.listen);
  // populating the same proxy again leaves it, and its toxic, alone
  const populated = await toxiproxy.populate([
    { name: "node", listen: proxy.listen, upstream, enabled: true },
  ]);
  const kept = (await proxy.getToxic("slow")).toJson();
  await toxic.remove();
  const after = await roundTrip(proxy.listen);
  await proxy.remove();
  const gone = await refused(proxy.listen);
  const left = Object.keys(await toxiproxy.getAll());
  server.close();
  console.log(JSON.stringify({
    version, base, slow, after, gone, left, kept,
    populated: Object.keys(populated), toxic: toxic.toJson(),
  }));
})().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
"""


def node_tools():
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "this test needs node and npm (Debian: apt-get install nodejs npm; .ci/run "
            "installs them): it runs Toxiproxy's official Node client against ringlab proxy"
        )
    return node, npm


def install_client(npm):
    """The client in the cache directory, installed on the first run (npm registry)."""
    if (CACHE / "node_modules" / "toxiproxy-node-client" / "package.json").exists():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CACHE), PACKAGE]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=50)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(command)}` took over 50 s (is the npm registry reachable?)")
    if done.returncode:
        pytest.fail(f"`{' '.join(command)}` failed:\n{done.stderr[-2000:]}")


def test_the_node_client_creates_a_proxy_adds_latency_and_deletes_it(tmp_path):
    node, npm = node_tools()
    install_client(npm)
    script = tmp_path / "drive.js"
    script.write_text(SCRIPT)
    env = os.environ | {"NODE_PATH": str(CACHE / "node_modules")}
    with ProxyProcess() as proc:
        done = subprocess.run(
            [node, str(script), proc.control_url],
            capture_output=True,
            text=True,
            timeout=40,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        proc.stop()
    seen = json.loads(done.stdout)
    assert seen["version"]
    assert seen["slow"] >= 290  # 300 ms on the way back
    assert seen["slow"] - seen["after"] >= 200 and seen["slow"] - seen["base"] >= 200
    assert seen["toxic"]["attributes"]["latency"] == 300 and seen["toxic"]["name"] == "slow"
    assert seen["kept"]["name"] == "slow" and seen["populated"] == ["node"]
    assert seen["gone"] is True and seen["left"] == []
