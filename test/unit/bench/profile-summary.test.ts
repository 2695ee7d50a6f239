import { describe, expect, it } from 'vitest';
import { areaOf, summarize, type CpuProfile } from '../../bench/profile/summarize.ts';

const frame = (functionName: string, url = '') => ({ functionName, url });

describe('the CPU profile summary', () => {
  it('names areas by vw folder, dependency, node module, or V8’s own entries', () => {
    expect(areaOf('file:///opt/vw/src/rules/engine/engine.ts', 'applyReading')).toBe('vw:rules');
    expect(areaOf('file:///opt/vw/node_modules/zod/v4/core/schemas.js', 'parse')).toBe('dep:zod');
    expect(areaOf('file:///opt/vw/node_modules/@influxdata/influxdb-client/dist/index.js', 'write')).toBe('dep:@influxdata/influxdb-client');
    expect(areaOf('node:internal/streams/writable', 'write')).toBe('node:internal');
    expect(areaOf('', '(garbage collector)')).toBe('gc');
    expect(areaOf('', '(idle)')).toBe('idle');
    expect(areaOf('', 'writev')).toBe('native:writev');
  });

  it('shares self time out by area and file, and charges the bus’s deliveries to the role it called', () => {
    // bus delivers to the rules role, which calls zod; the bus also encodes on its own; GC; idle.
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)'), children: [2, 6, 7] },
        { id: 2, callFrame: frame('runCursor', 'file:///vw/src/bus/memory-bus.ts'), children: [3, 5] },
        { id: 3, callFrame: frame('handler', 'file:///vw/src/rules/rules-role.ts'), children: [4] },
        { id: 4, callFrame: frame('parse', 'file:///vw/node_modules/zod/index.js') },
        { id: 5, callFrame: frame('encodeValue', 'file:///vw/src/bus/codec.ts') },
        { id: 6, callFrame: frame('(garbage collector)') },
        { id: 7, callFrame: frame('(idle)') },
      ],
      samples: [3, 4, 4, 5, 6, 7, 7, 7],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const s = summarize(profile);
    expect(s.totalMs).toBe(8);
    expect(s.busy).toBeCloseTo(5 / 8);
    expect(Object.fromEntries(s.areas.map((a) => [a.area, a.share]))).toEqual({ idle: 3 / 8, 'dep:zod': 2 / 8, 'vw:rules': 1 / 8, 'vw:bus': 1 / 8, gc: 1 / 8 });
    expect(Object.fromEntries(s.files.map((f) => [f.file, f.share]))).toEqual({ 'rules/rules-role.ts': 1 / 8, 'bus/codec.ts': 1 / 8 });
    expect(Object.fromEntries(s.roles.map((r) => [r.role, r.share]))).toEqual({ rules: 3 / 8, bus: 1 / 8, gc: 1 / 8, idle: 3 / 8 });
  });
});
