import { describe, expect, it } from 'vitest';
import { RegistryData } from '../../../src/domain/index.ts';
import { decodeDevicePayload } from '../../../src/ingest/decode.ts';
import { createRegistry } from '../../../src/registry/registry.ts';
import { fleetRegistry } from '../../../simulators/fleet/fleet-ward.ts';
import { loadPayload } from '../../../simulators/fleet/load-payload.ts';

describe('a load fleet\'s registry', () => {
  it('enrols every device to its own patient, in wards of a thousand, so ingest accepts its readings', () => {
    const devices = Array.from({ length: 2_500 }, (_, i) => ({ deviceId: `fleet-${String(i).padStart(5, '0')}`, kind: 'pulse_oximeter' as const }));
    const { registry, wardIds, patientsByDevice } = fleetRegistry(devices, { patientPrefix: 'fleet-p', wardPrefix: 'fleet-ward-' });
    expect(wardIds).toEqual(['fleet-ward-1', 'fleet-ward-2', 'fleet-ward-3']);
    const reg = createRegistry(RegistryData.parse(registry));
    const now = Date.now();
    const { body, readings } = loadPayload('families', 'pulse_oximeter', 'fleet-02499', now, 0);
    const decoded = decodeDevicePayload({ topicDeviceId: 'fleet-02499', payload: Buffer.from(body), receivedAt: new Date(now) }, { registry: reg });
    expect(decoded.rejections).toEqual([]);
    expect(decoded.readings).toHaveLength(readings);
    expect(decoded.readings[0]).toMatchObject({ patientId: patientsByDevice['fleet-02499'], wardId: 'fleet-ward-3' });
  });
});
