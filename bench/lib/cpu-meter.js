'use strict';
/*
 * What a benchmark costs, read from Linux's /proc rather than timed: the CPU time a process has
 * used (all its threads: libuv's pool and V8's collector count too), how often it slept and was
 * woken, and the TCP connections a process holds on a port. Throughput on a shared machine is noise; CPU per request is not (much).
 * Linux only: elsewhere every reading is undefined and the callers print "n/a".
 */
const fs = require('fs');
const { execFileSync } = require('child_process');

/** Clock ticks a second (utime and stime are counted in them); 100 on every Linux we know. */
const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** The CPU ms (user + system) `pid` has used so far, or undefined when it is gone or unreadable. */
function cpuMs(pid) {
  let stat;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name and state.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

/**
 * How often the main thread of `pid` has gone to sleep waiting for something (an event-loop poll,
 * a socket read) and been woken: its voluntary context switches. Per request, it says how many
 * requests each wake-up served: below 1, the process batches; near 1 or more, it pays a sleep and
 * a wake-up (and the kernel's scheduling) for every request.
 */
function wakeups(pid) {
  try {
    const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU ms and wake-ups per pid, for the pids given, at one moment: Map pid → { cpuMs, wakeups }. */
function usageSnapshot(pids) {
  const snapshot = new Map();
  for (const pid of pids) {
    const ms = cpuMs(pid);
    if (ms !== undefined) snapshot.set(pid, { cpuMs: ms, wakeups: wakeups(pid) ?? 0 });
  }
  return snapshot;
}

/**
 * What the pids used between two snapshots ({ cpuMs, wakeups }), for all of them or the one pid
 * given. A pid missing from `before` started in between (a pool's new connection, say): all of its
 * use counts. One missing from `after` ended in between: its use after `before` is lost (the run is
 * short; pools keep their connections).
 */
function usageBetween(before, after, only) {
  const total = { cpuMs: 0, wakeups: 0 };
  for (const [pid, used] of after) {
    if (only !== undefined && pid !== only) continue;
    const was = before.get(pid) ?? { cpuMs: 0, wakeups: 0 };
    total.cpuMs += used.cpuMs - was.cpuMs;
    total.wakeups += used.wakeups - was.wakeups;
  }
  return total;
}

/** Socket inodes a process holds open, or an empty set when its fds are unreadable. */
function socketInodes(pid) {
  const inodes = new Set();
  let fds;
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The inodes of established TCP connections whose local end is `port` (IPv4 and IPv6). */
function establishedOnPort(port) {
  const inodes = new Set();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is "ADDR:PORT", st "01" is ESTABLISHED, inode is the tenth column.
      if (f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '01') inodes.add(f[9]);
    }
  }
  return inodes;
}

/** How many established connections to `port` each pid holds: Map pid → count. */
function connectionsByPid(pids, port) {
  const open = establishedOnPort(port);
  const counts = new Map();
  for (const pid of pids) {
    let n = 0;
    for (const inode of socketInodes(pid)) if (open.has(inode)) n += 1;
    counts.set(pid, n);
  }
  return counts;
}

module.exports = { usageSnapshot, usageBetween, connectionsByPid };
