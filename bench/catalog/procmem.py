"""Memory of a process and its descendants (zebrasrv forks a child per connection).

  procmem.py now PID            -> JSON {rss_kb, hwm_kb, procs}: VmRSS and PSS summed over the tree, VmHWM of PID
  procmem.py cpu [PID]           -> JSON {busy, total, proc}: machine busy/total clock ticks from
                                   /proc/stat (all cores) and PID's own ticks plus its reaped children's
  procmem.py watch PID OUTFILE  -> samples the tree's summed VmRSS and PSS every 0.2 s until SIGTERM, then
                                   writes JSON {peak_tree_rss_kb, peak_tree_pss_kb, peak_procs, samples} to OUTFILE
"""

import json
import os
import signal
import sys
import time


def status(pid):
    d = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.strip()
    except OSError:
        pass
    return d


def kb(v):
    return int(v.split()[0]) if v else 0


def tree(pid):
    children = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            ppid = status(p).get("PPid")
            if ppid:
                children.setdefault(int(ppid), []).append(int(p))
    out, todo = [], [int(pid)]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss(pid):
    """Proportional set size: pages shared between forked processes are split among them, so the
    sum over the tree does not count the shared register pages once per process as RSS would."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return kb(line.split(":", 1)[1])
    except OSError:
        pass
    return 0


def now(pid):
    procs = tree(pid)
    return {"rss_kb": sum(kb(status(p).get("VmRSS")) for p in procs),
            "pss_kb": sum(pss(p) for p in procs),
            "hwm_kb": kb(status(pid).get("VmHWM")), "procs": len(procs)}


def watch(pid, out):
    peak, peak_pss, peak_procs, n = 0, 0, 0, 0
    stop = False

    def on_term(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    while not stop:
        s = now(pid)
        n += 1
        peak = max(peak, s["rss_kb"])
        peak_pss = max(peak_pss, s["pss_kb"])
        peak_procs = max(peak_procs, s["procs"])
        time.sleep(0.2)
    with open(out, "w") as f:
        json.dump({"peak_tree_rss_kb": peak, "peak_tree_pss_kb": peak_pss, "peak_procs": peak_procs, "samples": n}, f)


def cpu(pid=None):
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    out = {"t": time.time(), "busy": sum(v[:8]) - idle, "total": sum(v[:8]), "hz": os.sysconf("SC_CLK_TCK")}
    if pid:
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read().rsplit(")", 1)[1].split()
            out["proc"] = sum(int(x) for x in st[11:15])  # utime stime cutime cstime
        except OSError:
            out["proc"] = None
    return out


if __name__ == "__main__":
    if sys.argv[1] == "cpu":
        print(json.dumps(cpu(sys.argv[2] if len(sys.argv) > 2 else None)))
    elif sys.argv[1] == "now":
        print(json.dumps(now(sys.argv[2])))
    else:
        watch(sys.argv[2], sys.argv[3])
