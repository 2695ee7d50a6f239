import { readFileSync } from 'node:fs';

/**
 * CPU time and peak resident memory of any process on this machine, from /proc (Linux), so every
 * process of a run is measured the same way: vw's roles, the brokers and servers, the load fleet.
 */
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  pid: number;
  cpuSeconds: number;
  /** Peak resident set size since the process started (VmHWM), MiB. */
  peakRssMiB: number;
}

export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { pid, cpuSeconds, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN };
  } catch {
    return undefined;
  }
}

/** A named process watched over a run: CPU used between `start` and `finish`, peak RSS at finish. */
export function watchProcesses(named: Record<string, number>) {
  const before = new Map(Object.entries(named).map(([name, pid]) => [name, sampleProcess(pid)]));
  const peaks = new Map<string, number>();
  // Peak RSS is also sampled while running, in case a process exits before `finish`.
  const timer = setInterval(() => {
    for (const [name, pid] of Object.entries(named)) {
      const s = sampleProcess(pid);
      if (s) peaks.set(name, Math.max(peaks.get(name) ?? 0, s.peakRssMiB));
    }
  }, 1000);
  return {
    finish(): Record<string, { cpuSeconds: number; peakRssMiB: number }> {
      clearInterval(timer);
      const out: Record<string, { cpuSeconds: number; peakRssMiB: number }> = {};
      for (const [name, pid] of Object.entries(named)) {
        const end = sampleProcess(pid);
        const start = before.get(name);
        out[name] = {
          cpuSeconds: end && start ? end.cpuSeconds - start.cpuSeconds : NaN,
          peakRssMiB: Math.max(end?.peakRssMiB ?? 0, peaks.get(name) ?? 0) || NaN,
        };
      }
      return out;
    },
  };
}
