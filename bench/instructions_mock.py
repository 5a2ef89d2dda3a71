#!/usr/bin/env python3
"""instructions_mock.py - callgrind instructions per proxied request, sluice-mock upstream.

A fallback for bench/instructions.sh where nginx and h2load are not installed: the
upstream is sluice-mock (its /v1/chat/completions JSON reply, with `usage`) and the
client is this script (keep-alive, CG_CONNS connections used in turn, no pipelining).
sluice runs under `valgrind --tool=callgrind` for N_LOW and N_HIGH requests;
Ir per request = (Ir(N_HIGH) - Ir(N_LOW)) / (N_HIGH - N_LOW), so startup, the
connections and shutdown cancel out. User space only, as with instructions.sh.

    BUILD=build-rel N_LOW=1000 N_HIGH=6000 python3 bench/instructions_mock.py
    (SLUICE_BIN=path/to/sluice to measure another binary; OUT=dir keeps the callgrind files)
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.path.join(REPO, os.environ.get("BUILD", "build-rel"))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(BUILD, "core", "sluice"))
N_LOW = int(os.environ.get("N_LOW", "1000"))
N_HIGH = int(os.environ.get("N_HIGH", "6000"))
CONNS = int(os.environ.get("CG_CONNS", "10"))
BODY = open(os.path.join(HERE, "body", "chat_request.json"), "rb").read()
REQ = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
       b"Content-Type: application/json\r\nAuthorization: Bearer sk-bench-0000000000000000\r\n"
       b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit("process exited early")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"port {port} did not open")


def read_response(sock, buf):
    """One content-length response from sock; returns (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if not m:
        raise OSError("no content-length")
    need = int(m.group(1))
    while len(rest) < need:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("closed")
        rest += chunk
    return int(head.split(b" ", 2)[1]), rest[need:]


def run(n, mock_port, tmp):
    port = free_port()
    conf = os.path.join(tmp, "sluice.yaml")
    with open(conf, "w") as f:
        f.write("global:\n  workers: 1\n  log: {level: warn, access: off}\n"
                f"frontends:\n  - name: bench\n    bind: 127.0.0.1:{port}\n"
                "    routes:\n      - match: {path_prefix: /v1/}\n        backend: stub\n"
                "backends:\n  - name: stub\n    pool: {max_idle: 64}\n    servers:\n"
                f"      - {{name: mock, url: \"http://127.0.0.1:{mock_port}/v1\"}}\n")
    out = os.path.join(tmp, f"callgrind.{n}.out")
    p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                          SLUICE, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p, 120)
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNS)]
    bufs = [b""] * CONNS
    for i in range(n):
        k = i % CONNS
        socks[k].sendall(REQ)
        status, bufs[k] = read_response(socks[k], bufs[k])
        if status != 200:
            sys.exit(f"request {i}: status {status}")
    for s in socks:
        s.close()
    p.send_signal(signal.SIGTERM)
    p.wait(300)
    with open(out) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    sys.exit("no totals in " + out)


class _Dir:
    def __init__(self, path):
        self.path = path

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        return False


def main():
    keep = os.environ.get("OUT")  # keep the callgrind files there
    if keep:
        os.makedirs(keep, exist_ok=True)
    with (tempfile.TemporaryDirectory() if not keep else _Dir(keep)) as tmp:
        mock = subprocess.Popen([os.path.join(BUILD, "tools", "mock", "sluice-mock"), "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
        line = mock.stdout.readline()
        mock_port = int(line.rsplit(":", 1)[1])
        try:
            low = run(N_LOW, mock_port, tmp)
            high = run(N_HIGH, mock_port, tmp)
        finally:
            mock.terminate()
            mock.wait()
    print(f"sluice N={N_LOW}: Ir={low}\nsluice N={N_HIGH}: Ir={high}")
    print(f"Ir per request: {(high - low) / (N_HIGH - N_LOW):.0f}")


if __name__ == "__main__":
    main()
