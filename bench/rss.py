#!/usr/bin/env python3
"""rss.py - sluice's memory: idle on the demo config, and with N idle keep-alive
client connections on one worker (each has had one request answered).

Prints VmRSS readings and the cost per idle connection. Uses sluice-mock (next to
sluice in the build tree) as the upstream, on free ports.
"""
import argparse, os, re, resource, selectors, signal, socket, subprocess, sys, tempfile, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1))

def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False

def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--demo", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--connections", type=int, default=10000)
    a = ap.parse_args()
    mock_bin = os.path.join(os.path.dirname(os.path.dirname(a.sluice)), "tools", "mock", "sluice-mock")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(a.connections, hard - 200)

    # 1. idle on the demo configuration (nothing connected)
    env = dict(os.environ)
    ports = {k: free_port() for k in ("SLUICE_DEMO_PORT", "SLUICE_DEMO_ADMIN_PORT")}
    env.update({k: str(v) for k, v in ports.items()})
    p = subprocess.Popen([a.sluice, "-c", a.demo], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(ports["SLUICE_DEMO_PORT"]):
        print("demo sluice did not start", file=sys.stderr)
        stop(p)
        return 1
    time.sleep(1.0)
    idle_demo = rss_kib(p.pid)
    workers = len(os.listdir(f"/proc/{p.pid}/task")) - 1
    stop(p)
    print(f"idle RSS, demo config ({workers} worker threads + main): {idle_demo} KiB ({idle_demo / 1024:.1f} MiB)")

    # 2. one worker, n idle keep-alive connections
    up = free_port()
    mock = subprocess.Popen([mock_bin, "--port", str(up), "--name", "rss"], stdout=subprocess.DEVNULL)
    front = free_port()
    conf = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    conf.write(f"""global: {{workers: 1, max_connections: {n + 100}, log: {{level: warn, access: off}}}}
defaults: {{timeouts: {{client_idle: 10m}}}}
frontends: [{{name: rss, bind: "127.0.0.1:{front}", routes: [{{backend: b}}]}}]
backends: [{{name: b, servers: [{{name: m, url: "http://127.0.0.1:{up}"}}]}}]
""")
    conf.close()
    p = subprocess.Popen([a.sluice, "-c", conf.name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(front):
            print("sluice did not start", file=sys.stderr)
            return 1
        # warm up the worker (first request path, upstream pool) before the baseline
        s = socket.create_connection(("127.0.0.1", front))
        s.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(65536)
        s.close()
        time.sleep(0.3)
        base = rss_kib(p.pid)
        sel = selectors.DefaultSelector()
        socks, pending = [], 0
        req = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"
        for i in range(n):
            c = socket.socket()
            c.connect(("127.0.0.1", front))
            c.sendall(req)
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
            socks.append(c)
            pending += 1
            while pending > 256 or (i == n - 1 and pending):
                for key, _ in sel.select(timeout=10):
                    data = key.fileobj.recv(65536)
                    if b"\r\n\r\n" in data:
                        sel.unregister(key.fileobj)
                        pending -= 1
        time.sleep(1.0)
        loaded = rss_kib(p.pid)
        per = (loaded - base) * 1024 / n
        print(f"one worker: RSS {base} KiB before, {loaded} KiB with {n} idle keep-alive connections "
              f"-> {per / 1024:.2f} KiB per idle connection")
        for c in socks:
            c.close()
    finally:
        stop(p)
        stop(mock)
        os.unlink(conf.name)
    return 0

if __name__ == "__main__":
    sys.exit(main())
