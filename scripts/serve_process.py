"""Starting `monolith serve` from the check scripts (on a free loopback port, waiting for 'ready:') and stopping it."""
import re
import signal
import subprocess
import sys
import time


def start(binary, model, extra=()):
    """Starts `binary serve --model model --port 0 *extra`; returns (process, port) once the model
    is loaded, or exits with the server's last output."""
    proc = subprocess.Popen([binary, "serve", "--model", model, "--port", "0", *extra], stderr=subprocess.PIPE, text=True)
    port, deadline = None, time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
        port = int(m.group(1)) if m else port
        if line.startswith("ready:") and port:
            return proc, port
    proc.kill()
    sys.exit(f"the server did not start: {proc.stderr.read()[-2000:]}")


def stop(proc, timeout=30):
    """SIGINT, as a user's Ctrl-C; returns the exit status, or None when the server had to be killed."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None
