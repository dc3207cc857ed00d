"""Runs a fluxora-server binary the way server/container/Dockerfile would, without a container.

Reads the Dockerfile's USER, ENV, EXPOSE, ENTRYPOINT, CMD and HEALTHCHECK, then starts the
binary as that user (setpriv) with exactly that environment (the data directory and the port
moved to a temporary directory and a free port, as a volume and a port mapping would), and
asserts: the process runs as the non-root user, the HEALTHCHECK command (the binary's own
`healthcheck`, no shell) fails before the server listens and succeeds once it does, the
server answers on its one port, and it stops on SIGTERM.

    python3 container-check.py BINARY DOCKERFILE
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

binary, dockerfile = sys.argv[1], sys.argv[2]


def instructions(path):
    """(keyword, rest) per instruction, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#") and not current:
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, rest = current.strip().partition(" ")
            lines.append((keyword.upper(), rest.strip()))
        current = ""
    return lines


parsed = instructions(dockerfile)
env, user, exposed, entrypoint, cmd, healthcheck = {}, None, [], None, [], None
for keyword, rest in parsed:
    if keyword == "ENV":
        for pair in shlex.split(rest):
            key, _, value = pair.partition("=")
            env[key] = value
    elif keyword == "USER":
        user = rest
    elif keyword == "EXPOSE":
        exposed += rest.split()
    elif keyword == "ENTRYPOINT":
        entrypoint = json.loads(rest)
    elif keyword == "CMD":
        cmd = json.loads(rest)
    elif keyword == "HEALTHCHECK":
        healthcheck = json.loads(rest[rest.index("CMD") + 3:].strip())

uid, _, gid = (user or "").partition(":")
assert uid and uid != "0" and uid != "root", f"the image must not run as root: USER {user!r}"
assert len(exposed) == 1, f"one port: EXPOSE {exposed}"
assert entrypoint and healthcheck, "ENTRYPOINT and HEALTHCHECK are required"
assert healthcheck[0] == entrypoint[0], "the HEALTHCHECK runs the image's own binary"
print(f"Dockerfile: USER {user}, EXPOSE {exposed[0]}, ENTRYPOINT {entrypoint} CMD {cmd}, "
      f"HEALTHCHECK {healthcheck}")

# The image's user must be able to reach the binary wherever the checkout is (a CI clone may
# sit in a private directory): a world-readable copy, as the image holds it (0555).
image_root = tempfile.mkdtemp(prefix="fluxora-image-")
os.chmod(image_root, 0o755)
copied = os.path.join(image_root, "fluxora-server")
with open(binary, "rb") as source, open(copied, "wb") as target:
    target.write(source.read())
os.chmod(copied, 0o555)
binary = copied

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
data = tempfile.mkdtemp(prefix="fluxora-container-")
os.chown(data, int(uid), int(gid or uid))
env.update({"PORT": str(port), "HOST": "127.0.0.1", "FLUXORA_DATA_DIR": data})
as_user = ["setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"]


def run_healthcheck():
    command = as_user + [binary] + healthcheck[1:]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30)


before = run_healthcheck()
assert before.returncode != 0, "healthy before the server started?"
server = subprocess.Popen(as_user + [binary] + cmd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
try:
    deadline = time.monotonic() + 30
    while True:
        check = run_healthcheck()
        if check.returncode == 0:
            break
        assert server.poll() is None, "the server exited"
        assert time.monotonic() < deadline, f"never healthy: {check.stdout}{check.stderr}"
        time.sleep(0.2)
    owner = open(f"/proc/{server.pid}/status").read()
    real_uid = next(line.split()[1] for line in owner.splitlines() if line.startswith("Uid:"))
    assert real_uid == uid, f"runs as uid {real_uid}, not {uid}"
    assert os.path.exists(os.path.join(data, "fluxora.db")), "the data directory holds the database"
    print(f"healthy as uid {real_uid} on port {port}: {check.stdout.strip()}")
finally:
    server.send_signal(signal.SIGTERM)
    code = server.wait(timeout=30)
assert code == 0, f"SIGTERM: exit {code}"
print("stopped cleanly on SIGTERM")
