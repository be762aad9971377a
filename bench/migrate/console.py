# SPDX-License-Identifier: GPL-2.0
"""The guest's serial console, read as it arrives, on the lab's clock.

Both engines give the console as a unix socket (vmotionctl --console,
QEMU's -chardev socket).  A reader thread connects (retrying until the
socket exists: a destination makes it only when the migration starts)
and writes every heartbeat dot and every ``workload:`` line with the
CLOCK_MONOTONIC time it arrived, so the blackout of either engine is
measured by the same clock from outside the guest::

    <t> . <n>        n heartbeat dots arrived at t
    <t> L <line>     a line of the workload (or anything else) ended at t
"""

import socket
import threading
import time


class ConsoleReader:
    def __init__(self, path, out_path):
        self.path = path
        self.out = open(out_path, "w", buffering=1)
        self.sock = None
        self.lock = threading.Lock()
        self.lines = []          # (t, line)
        self.last_dot = None
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _connect(self):
        while not self.stopped:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                return s
            except OSError:
                s.close()
                time.sleep(0.005)
        return None

    def _run(self):
        self.sock = self._connect()
        if not self.sock:
            return
        text = None      # the line being read, or None among dots
        while not self.stopped:
            try:
                data = self.sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            t = time.monotonic()
            dots, done = self._parse(data, t)
            with self.lock:
                if dots:
                    self.last_dot = t
                    self.out.write("%.6f . %d\n" % (t, dots))
                for line in done:
                    self.lines.append((t, line))
                    self.out.write("%.6f L %s\n" % (t, line))

    _text = None

    def _parse(self, data, t):
        """Heartbeat dots (a '.' outside a line) and the lines finished."""
        dots, done = 0, []
        for c in data.decode("latin-1"):
            if self._text is None:
                if c == ".":
                    dots += 1
                elif c not in "\r\n":
                    self._text = [c]
            elif c == "\n":
                line = "".join(self._text).rstrip("\r")
                self._text = None
                # The shell's prompt may come first on the line.
                at = line.find("workload:")
                if at > 0:
                    line = line[at:]
                if line:
                    done.append(line)
            else:
                self._text.append(c)
        return dots, done

    def send(self, text):
        """Type @text on the console (the guest's shell reads it)."""
        deadline = time.monotonic() + 10
        while self.sock is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.sock is None:
            raise OSError("console %s: not connected" % self.path)
        self.sock.sendall(text.encode())

    def wait_line(self, prefix, after=0.0, timeout=60.0):
        """The first line starting with @prefix that arrived after @after."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, line in self.lines:
                    if t > after and line.startswith(prefix):
                        return t, line
            time.sleep(0.02)
        return None

    def close(self):
        self.stopped = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.thread.join(timeout=2)
        if self.sock:
            self.sock.close()
        self.out.close()
