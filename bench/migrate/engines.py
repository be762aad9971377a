# SPDX-License-Identifier: GPL-2.0
"""The two engines as the benchmark drives them: vmotion and QEMU.

Each starts the same guest (the lab's Debian kernel, the project's
initramfs, the same workload command line) on a source in one network
namespace, a destination in the other, migrates it, and reports what the
engine itself says about the migration.  The benchmark measures the rest
(heartbeat, wire bytes, CPU) the same way for both, from outside.
"""

import json
import os
import signal
import socket
import subprocess
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QEMU = {
    "7.2": ["/usr/bin/qemu-system-x86_64"],
    "10": [os.path.join(TOP, "build/qemu-backports/usr/bin/qemu-system-x86_64"),
           "-L", os.path.join(TOP, "build/qemu-backports/usr/share/qemu"),
           "-L", "/usr/share/qemu"],
}


def netns(ns, argv):
    return ["ip", "netns", "exec", ns] + argv


def spawn(argv, out):
    f = open(out, "ab")
    return subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def kill(p):
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


class Vmotion:
    """vmotionctl run / receive / migrate, with vmtrace or KVM's dirty log."""

    def __init__(self, row, d, sock, nsa, nsb, port):
        self.row, self.d, self.s, self.nsa, self.nsb = row, d, sock, nsa, nsb
        self.to = "10.77.0.2:%d" % port
        self.src = self.dst = self.mig = None
        self.src_console = os.path.join(sock, "src.console")
        self.dst_console = os.path.join(sock, "dst.console")
        self.settings = {"tracker": row.opts.get("tracker", "vmtrace"),
                         "sdps": row.opts.get("sdps", "off"),
                         "max_stun_ms": row.window_ms}
        # tree=PATH: that checkout's vmotionctl (built there), to measure
        # two versions of the engine in one run.
        tree = os.path.join(TOP, row.opts.get("tree", ""))
        self.bin = os.path.join(tree, "ctl", "vmotionctl")
        if not os.access(self.bin, os.X_OK):
            raise RuntimeError("tree=%s: no ctl/vmotionctl there (make "
                               "bench-migrate BEFORE=COMMIT builds "
                               "build/bench/before)" % row.opts["tree"])
        self.version = "vmotion " + (subprocess.run(
            ["git", "-C", tree, "describe", "--always", "--dirty"],
            capture_output=True, text=True).stdout.strip() or "?")
        self.cpu_migrate_s = 0.0

    def start_source(self, kernel, initrd, cmdline):
        self.src = spawn(netns(self.nsa, [
            self.bin, "run", "--kernel", kernel, "--initrd", initrd,
            "--cmdline", cmdline, "--mem", self.row.mem, "--cpus",
            str(self.row.cpus), "--control", os.path.join(self.s, "src.sock"),
            "--console", self.src_console,
            "--log", os.path.join(self.d, "src.serial")]),
            os.path.join(self.d, "src.out"))

    def start_destination(self):
        self.dst = spawn(netns(self.nsb, [
            self.bin, "receive", "--listen", self.to, "--control",
            os.path.join(self.s, "dst.sock"), "--console", self.dst_console,
            "--log", os.path.join(self.d, "dst.serial")]),
            os.path.join(self.d, "dst.out"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "listening on" in open(os.path.join(self.d, "dst.out")).read():
                return
            time.sleep(0.05)
        raise RuntimeError("vmotionctl receive did not listen")

    def migrate(self):
        s = self.settings
        # --compress only when the row says: an older tree has none.
        comp = (["--compress", self.row.opts["compress"]]
                if "compress" in self.row.opts else [])
        self.mig = spawn(netns(self.nsa, [
            self.bin, "migrate", "--control", os.path.join(self.s, "src.sock"),
            "--to", self.to, "--json", os.path.join(self.d, "engine.json"),
            "--max-stun", str(s["max_stun_ms"]), "--tracker", s["tracker"],
            "--sdps", s["sdps"], "--timeout", str(self.row.timeout_s)] + comp),
            os.path.join(self.d, "migrate.out"))

    def poll(self):
        """None while it runs, else (ok, reason)."""
        if self.mig.returncode is None:
            # wait4 for migrate's own CPU time; Popen then knows it ended.
            pid, status, ru = os.wait4(self.mig.pid, os.WNOHANG)
            if not pid:
                return None
            self.mig.returncode = os.waitstatus_to_exitcode(status)
            self.cpu_migrate_s = ru.ru_utime + ru.ru_stime
        rc = self.mig.returncode
        try:
            rep = json.load(open(os.path.join(self.d, "engine.json")))
        except (OSError, ValueError):
            rep = {}
        ok = rc == 0 and rep.get("result") == "ok"
        return ok, rep.get("reason", "" if ok else "migrate exit %d" % rc)

    def dest_running(self):
        """Whether the destination runs the guest (its own word)."""
        try:
            return "state=running" in request(os.path.join(self.s, "dst.sock"), "status")
        except OSError:
            return False

    def pids(self):
        return {"src": pid_in(self.src), "dst": pid_in(self.dst)}

    def stop(self):
        for p in (self.mig, self.src, self.dst):
            kill(p)


def pid_in(p):
    """`ip netns exec` execs its command: the pid is the VMM's."""
    return p.pid if p else None


def request(sock_path, req, timeout=0.5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall((req + "\n").encode())
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors="replace")


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile("rwb", buffering=0)
        self._read()                      # the greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise OSError("QMP closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write((json.dumps(msg) + "\n").encode())
        r = self._read()
        if "error" in r:
            raise RuntimeError("QMP %s: %s" % (name, r["error"].get("desc")))
        return r.get("return")

    def close(self):
        self.s.close()


class Qemu:
    """QEMU's own live migration of the same guest, as the L2 VMM."""

    def __init__(self, row, d, sock, nsa, nsb, port):
        self.row, self.d, self.s, self.nsa, self.nsb = row, d, sock, nsa, nsb
        self.port = port
        self.ver = row.engine.split("-", 1)[1]          # qemu-7.2, qemu-10
        self.bin = QEMU[self.ver]
        self.src = self.dst = None
        self.src_console = os.path.join(sock, "src.console")
        self.dst_console = os.path.join(sock, "dst.console")
        self.samples = []
        self.cpu_migrate_s = 0.0     # its migration runs in its own threads
        o = row.opts
        caps = {"auto-converge": o.get("auto-converge") == "on"}
        if "multifd" in o:
            caps["multifd"] = True
        if o.get("dirty-limit") == "on":
            caps["dirty-limit"] = True
        if o.get("xbzrle") == "on":
            caps["xbzrle"] = True
        # max-bandwidth lifted far above any link: the link is the limit.
        params = {"downtime-limit": row.window_ms,
                  "max-bandwidth": 10 << 30}
        if "multifd" in o:
            params["multifd-channels"] = int(o["multifd"])
        if "compress" in o:
            params["multifd-compression"] = o["compress"]
        if caps["auto-converge"]:
            params["cpu-throttle-initial"] = int(o.get("throttle-initial", 20))
            params["cpu-throttle-increment"] = int(o.get("throttle-increment", 10))
        self.settings = {"capabilities": caps, "parameters": params}
        out = subprocess.run(self.bin[:1] + ["--version"], capture_output=True,
                             text=True).stdout.split("\n")[0]
        self.version = out.replace("QEMU emulator version ", "qemu ")

    def _argv(self, side, kernel, initrd, cmdline):
        # dirty-limit throttles each vCPU by KVM's dirty ring.
        accel = ("kvm,dirty-ring-size=4096"
                 if self.settings["capabilities"].get("dirty-limit") else "kvm")
        # BENCH_QEMU_ACCEL=tcg: a dry run of the driver outside the lab.
        accel = os.environ.get("BENCH_QEMU_ACCEL", accel)
        return self.bin + [
            "-nodefaults", "-no-user-config", "-machine", "pc",
            "-accel", accel,
            "-cpu", "max" if "tcg" in accel else "host", "-m", self.row.mem, "-smp", str(self.row.cpus),
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline,
            "-display", "none", "-vga", "none", "-net", "none",
            "-chardev", "socket,id=con,path=%s,server=on,wait=off" %
            os.path.join(self.s, side + ".console"),
            "-serial", "chardev:con",
            "-qmp", "unix:%s,server=on,wait=off" % os.path.join(self.s, side + ".qmp"),
            "-name", "bench-" + side]

    def start_source(self, kernel, initrd, cmdline):
        self.args = (kernel, initrd, cmdline)
        self.src = spawn(netns(self.nsa, self._argv("src", *self.args)),
                         os.path.join(self.d, "src.out"))
        self.sq = Qmp(os.path.join(self.s, "src.qmp"))

    def start_destination(self):
        self.dst = spawn(netns(self.nsb, self._argv("dst", *self.args) +
                               ["-incoming", "defer"]),
                         os.path.join(self.d, "dst.out"))
        self.dq = Qmp(os.path.join(self.s, "dst.qmp"))
        caps = [{"capability": k, "state": v}
                for k, v in self.settings["capabilities"].items()]
        for q in (self.sq, self.dq):
            q.cmd("migrate-set-capabilities", capabilities=caps)
        # Destination: what shapes the stream (channels, compression).
        dparams = {k: v for k, v in self.settings["parameters"].items()
                   if k.startswith("multifd")}
        if dparams:
            self.dq.cmd("migrate-set-parameters", **dparams)
        self.sq.cmd("migrate-set-parameters", **self.settings["parameters"])
        self.dq.cmd("migrate-incoming", uri="tcp:10.77.0.2:%d" % self.port)

    def migrate(self):
        self.sq.cmd("migrate", uri="tcp:10.77.0.2:%d" % self.port)
        self.t0 = time.monotonic()

    def poll(self):
        info = self.sq.cmd("query-migrate")
        self.samples.append([time.monotonic(), info])
        st = info.get("status")
        if st in ("completed", "failed", "cancelled"):
            with open(os.path.join(self.d, "engine.json"), "w") as f:
                json.dump({"final": info, "samples": self.samples}, f)
            return st == "completed", info.get("error-desc", "" if st == "completed" else st)
        if time.monotonic() - self.t0 > self.row.timeout_s:
            self.sq.cmd("migrate_cancel")
        return None

    def dest_running(self):
        try:
            return self.dq.cmd("query-status").get("status") == "running"
        except (OSError, RuntimeError):
            return False

    def pids(self):
        return {"src": pid_in(self.src), "dst": pid_in(self.dst)}

    def stop(self):
        for q in ("sq", "dq"):
            if hasattr(self, q):
                getattr(self, q).close()
        for p in (self.src, self.dst):
            kill(p)


def make(row, d, sock, nsa, nsb, port):
    """@d: the row's record directory; @sock: a local directory for the
    sockets (the lab's results share, 9p, cannot hold them)."""
    if row.engine.startswith("qemu-"):
        return Qemu(row, d, sock, nsa, nsb, port)
    return Vmotion(row, d, sock, nsa, nsb, port)
